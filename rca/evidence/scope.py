"""Scope evidence: does the candidate's scope cover the traffic where the metric regressed, and only it?

Overlap is measured in *traffic* (records in the regression window), not in slice labels, so scopes
written in different dimensions compare correctly (``country=FR`` against its sites): the Jaccard
index |A ∩ S| / |A ∪ S| of the candidate's scope A and the localized slices S, with the two one-sided
coverages |A ∩ S| / |S| (how much of the regression the candidate can reach) and |A ∩ S| / |A| (how
much of the candidate's traffic actually regressed). A global change has A = everything, so against a
localized regression its Jaccard is just the regression's share of traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from data.slices import Slice
from data.sources import OpenWorkspace, quote
from metrics.definitions import scope_predicate, slice_predicate
from rca.panel import Panel, hours_since_epoch
from rca.types import ScopeDetail, ScopeEvidence, ScopeRecords, verdict


@dataclass(frozen=True)
class Overlap:
    """Records (in a window) of a candidate's scope, of the localized slices, and of both; per slice too."""

    in_scope: int
    in_focus: int
    both: int
    per_slice: tuple[tuple[int, int], ...] = ()  # (records of slice i, records of slice i inside the scope)


def traffic_overlaps(ow: OpenWorkspace, start: datetime, end: datetime, focus: tuple[Slice, ...],
                     scopes: dict[str, tuple[Slice, ...]]) -> dict[str, Overlap]:
    """For each named scope, its traffic overlap with the localized slices in ``[start, end)`` (one scan)."""
    if not scopes:
        return {}
    ts = quote(ow.workspace.records.timestamp)
    s_pred = scope_predicate(focus)
    parts = [slice_predicate(s.filters) for s in focus]
    names = list(scopes)
    aggs = [f"count(*) FILTER (WHERE {s_pred})"] + [f"count(*) FILTER (WHERE {p})" for p in parts]
    for name in names:
        a = scope_predicate(scopes[name])
        aggs += [f"count(*) FILTER (WHERE {a})", f"count(*) FILTER (WHERE {a} AND {s_pred})"]
        aggs += [f"count(*) FILTER (WHERE {a} AND {p})" for p in parts]
    row = ow.engine.row(f"SELECT {', '.join(aggs)} FROM records WHERE {ts} >= ? AND {ts} < ?", [start, end])
    focus_n, slice_n = int(row[0]), [int(v) for v in row[1:1 + len(parts)]]
    out, pos = {}, 1 + len(parts)
    for name in names:
        in_scope, both = int(row[pos]), int(row[pos + 1])
        per = tuple((slice_n[i], int(row[pos + 2 + i])) for i in range(len(parts)))
        out[name] = Overlap(in_scope, focus_n, both, per)
        pos += 2 + len(parts)
    return out


def scope_evidence(counts: Overlap, scope: tuple[Slice, ...], focus: tuple[Slice, ...]) -> ScopeEvidence:
    """Jaccard of affected traffic between a candidate's scope and the localized slices.

    Each localized slice counts by its share of the change (``Slice.share``), so a broad slice that carries
    little of the change does not drown a narrow one that carries most of it: the *weighted* coverage is
    Σ share_i · |A ∩ S_i| / |S_i| / Σ share_i, and the weighted Jaccard combines it with the precision
    |A ∩ S| / |A| as 1 / (1/coverage + 1/precision − 1) (which is the Jaccard when there is one slice).
    """
    in_scope, in_focus, both = counts.in_scope, counts.in_focus, counts.both
    union = in_scope + in_focus - both
    jaccard = both / union if union else 0.0
    reach = both / in_focus if in_focus else 0.0
    precision = both / in_scope if in_scope else 0.0
    shares = [max(s.share, 0.0) for s in focus]
    if counts.per_slice and sum(shares) > 0:
        weighted = sum(w * (b / n if n else 0.0) for w, (n, b) in zip(shares, counts.per_slice, strict=True)) / sum(shares)
    else:
        weighted = reach
    weighted_j = 1.0 / (1.0 / weighted + 1.0 / precision - 1.0) if weighted > 0 and precision > 0 else 0.0
    rule = verdict(f"weighted Jaccard of affected traffic = {weighted_j:.2f} ≥ 0.5 (covers {weighted:.0%} of the "
                   f"change, {precision:.0%} of the candidate's scope regressed)", weighted_j >= 0.5,
                   "the scopes match", "the scopes do not match")
    return ScopeEvidence(
        effect=round(weighted_j, 4), supports=bool(weighted_j >= 0.5), rule=rule, detail=ScopeDetail(
            jaccard=round(jaccard, 4), weighted_jaccard=round(weighted_j, 4), covers_regression=round(reach, 4),
            covers_change=round(weighted, 4), regressed_share_of_scope=round(precision, 4),
            candidate_scope=";".join(s.key for s in scope) if scope else "*",
            localized=";".join(s.key for s in focus) if focus else "*",
            records=ScopeRecords(candidate=in_scope, localized=in_focus, both=both)))


def panel_overlaps(panel: Panel, start: datetime, end: datetime, focus: tuple[Slice, ...],
                   scopes: dict[str, tuple[Slice, ...]]) -> dict[str, Overlap] | None:
    """The same counts as `traffic_overlaps`, from a panel already in memory (None when the panel lacks a
    dimension the scopes are written in)."""
    dims = {d for scope in (focus, *scopes.values()) for s in scope for d, _ in s.filters}
    if not dims <= set(panel.dims):
        return None
    hours = panel.hours()
    window = (hours >= hours_since_epoch(start)) & (hours < hours_since_epoch(end) + (1 if end.minute or end.second else 0))
    n = panel.frame["_n"].to_numpy() * window
    in_focus = panel.members(focus)
    slice_masks = [panel.members((s,)) for s in focus]
    focus_n = int(n[in_focus].sum())
    slice_n = [int(n[m].sum()) for m in slice_masks]
    out = {}
    for name, scope in scopes.items():
        a = panel.members(scope)
        per = tuple((slice_n[i], int(n[a & m].sum())) for i, m in enumerate(slice_masks))
        out[name] = Overlap(int(n[a].sum()), focus_n, int(n[a & in_focus].sum()), per)
    return out
