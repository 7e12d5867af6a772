"""Scope evidence: does the candidate's scope cover the traffic where the metric regressed, and only it?

Overlap is measured in *traffic* (records in the regression window), not in slice labels, so scopes
written in different dimensions compare correctly (``country=FR`` against its sites): the Jaccard
index |A ∩ S| / |A ∪ S| of the candidate's scope A and the localized slices S, with the two one-sided
coverages |A ∩ S| / |S| (how much of the regression the candidate can reach) and |A ∩ S| / |A| (how
much of the candidate's traffic actually regressed). A global change has A = everything, so against a
localized regression its Jaccard is just the regression's share of traffic.
"""

from __future__ import annotations

from datetime import datetime

from data.slices import Slice
from data.sources import OpenWorkspace, quote
from rca.measures import scope_predicate
from rca.types import Evidence


def traffic_overlaps(ow: OpenWorkspace, start: datetime, end: datetime, focus: tuple[Slice, ...],
                     scopes: dict[str, tuple[Slice, ...]]) -> dict[str, tuple[int, int, int]]:
    """For each named scope: (records in scope, records in focus, records in both) in ``[start, end)``."""
    if not scopes:
        return {}
    ts = quote(ow.workspace.records.timestamp)
    s_pred = scope_predicate(focus)
    names = list(scopes)
    aggs = [f"count(*) FILTER (WHERE {s_pred})"]
    for name in names:
        a = scope_predicate(scopes[name])
        aggs += [f"count(*) FILTER (WHERE {a})", f"count(*) FILTER (WHERE {a} AND {s_pred})"]
    row = ow.con.execute(f"SELECT {', '.join(aggs)} FROM records WHERE {ts} >= ? AND {ts} < ?", [start, end]).fetchone()
    focus_n = int(row[0])
    return {name: (int(row[1 + 2 * i]), focus_n, int(row[2 + 2 * i])) for i, name in enumerate(names)}


def scope_evidence(counts: tuple[int, int, int], scope: tuple[Slice, ...], focus: tuple[Slice, ...]) -> Evidence:
    """Jaccard of affected traffic between a candidate's scope and the localized slices."""
    in_scope, in_focus, both = counts
    union = in_scope + in_focus - both
    jaccard = both / union if union else 0.0
    reach = both / in_focus if in_focus else 0.0
    precision = both / in_scope if in_scope else 0.0
    return Evidence(
        "scope", round(jaccard, 4), None, None, bool(jaccard >= 0.5),
        {"jaccard": round(jaccard, 4), "covers_regression": round(reach, 4), "regressed_share_of_scope": round(precision, 4),
         "candidate_scope": ";".join(s.key for s in scope) if scope else "*",
         "localized": ";".join(s.key for s in focus) if focus else "*",
         "records": {"candidate": in_scope, "localized": in_focus, "both": both}})
