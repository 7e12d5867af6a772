"""Incidents grouped by cause: one incident per confirmed cause, its regressions listed as symptoms.

The way Alertmanager groups alerts by a key (``group_by``), regressions that one confirmed cause
explains form one incident: their top causes are the same change event (``change:<name>``) or the same
shifted driver (``driver:<feature>``), their causes' scopes overlap and their windows overlap. The most
affected regression (largest change in standard errors, `rca.report.severity`) is the incident's own;
the others are its ``symptoms``. Regressions without a confirmed cause, or whose cause is shared with
nothing, stay incidents of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from data.slices import Slice
from rca.types import Incident


def cause_key(incident: Incident) -> str | None:
    """What an incident groups on: its confirmed top cause's change event or driver (None: no confirmed cause)."""
    if incident.inconclusive or not incident.causes:
        return None
    top = incident.causes[0]
    if top.change_event is not None:
        return f"change:{top.change_event}"
    if top.feature is not None:
        return f"driver:{top.feature}"
    return None


def slices_overlap(a: Slice, b: Slice) -> bool:
    """True when some record can be in both slices: no dimension has different values in the two."""
    mine = dict(a.filters)
    return all(mine.get(dim, value) == value for dim, value in b.filters)


def scopes_overlap(a: Sequence[Slice], b: Sequence[Slice]) -> bool:
    """Two scopes (unions of slices; empty = everything) share records."""
    if not a or not b:
        return True
    return any(slices_overlap(x, y) for x in a for y in b)


def _windows_overlap(a: Incident, b: Incident) -> bool:
    ra, rb = a.regression, b.regression
    return ra.start < rb.end and rb.start < ra.end


def _same_cause(a: Incident, b: Incident) -> bool:
    key = cause_key(a)
    return (key is not None and key == cause_key(b) and _windows_overlap(a, b)
            and scopes_overlap(a.causes[0].scope, b.causes[0].scope))


def group_by_cause(incidents: Sequence[Incident], severity: Callable[[Incident], float],
                   measure: Callable[[list[Incident], tuple[Slice, ...]], list[Incident]] | None = None
                   ) -> list[Incident]:
    """One incident per cause: connected groups of `_same_cause` incidents (union-find), each led by its
    most severe regression with the others as ``symptoms`` (most severe first); most severe group first.

    ``measure(members, scope)``, when given, measures every member in one scope, the lead's (so a group's
    figures agree; one call per group, so the group shares one scan), and the members are ordered again by
    ``severity`` after it."""
    parent = list(range(len(incidents)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(incidents)):
        for j in range(i + 1, len(incidents)):
            if _same_cause(incidents[i], incidents[j]):
                parent[root(j)] = root(i)
    groups: dict[int, list[Incident]] = {}
    for i, incident in enumerate(incidents):
        groups.setdefault(root(i), []).append(incident)
    out = []
    def order(members: list[Incident]) -> list[Incident]:
        return sorted(members, key=lambda i: (-severity(i), i.regression.metric, i.regression.id))

    for members in groups.values():
        members = order(members)
        if measure is not None:
            scope = members[0].slices
            members = order(measure(members, scope))
        lead, *rest = members
        out.append(replace(lead, symptoms=tuple(rest), cause_key=cause_key(lead)))
    return sorted(out, key=lambda i: (-severity(i), i.regression.metric, i.regression.id))
