"""Incidents: dedup-upsert from the pipeline, list and filter, lifecycle, feedback, summaries.

An incident is one cause with its symptoms (`rca.grouping`). Dedup key: the confirmed cause
(``cause_key``) with an overlapping window; an incident without one, or seen before it had one, is
matched by (workspace, metric, slice) with an overlapping window. A cause (or regression) that arrives
again updates its incident (window extended, numbers and symptoms refreshed, ``seen_count`` + 1) instead
of creating a new one; only new incidents are announced on webhooks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.actors import Actor
from backend.crud import audit
from backend.errors import Conflict, Invalid, NotFound
from backend.models import Feedback, Incident, Workspace, naive_utc, utcnow
from backend.schemas.incident import IncidentIn
from data.slices import Slice

# status -> statuses it may move to
TRANSITIONS: dict[str, set[str]] = {
    "open": {"acknowledged", "resolved", "dismissed"},
    "acknowledged": {"open", "resolved", "dismissed"},
    "resolved": {"open"},
    "dismissed": {"open"},
}
# feedback label -> the status it moves an open or acknowledged incident to
FEEDBACK_STATUS = {"confirmed": "acknowledged", "false_alarm": "dismissed", "expected_change": "dismissed"}
SEVERITY_THRESHOLDS = ((0.20, "critical"), (0.10, "high"), (0.05, "medium"))


def severity_of(relative_change: float | None) -> str:
    """For an ingested incident that carries no severity of its own (the engine grades every incident by its
    change in standard errors): critical ≥ 20 %, high ≥ 10 %, medium ≥ 5 % relative change, else low."""
    if relative_change is None or not math.isfinite(relative_change):
        return "medium"
    size = abs(relative_change)
    return next((label for threshold, label in SEVERITY_THRESHOLDS if size >= threshold), "low")


def relative_change(baseline: float | None, current: float | None) -> float | None:
    if baseline is None or current is None or baseline == 0:
        return None
    try:
        rel = (current - baseline) / abs(baseline)
    except OverflowError:
        return None
    return rel if math.isfinite(rel) else None


def canonical_slice(text: str) -> str:
    try:
        return Slice.parse(text).key
    except ValueError as err:
        raise Invalid(str(err)) from None


def _finite(value: float | None, what: str) -> float | None:
    if value is not None and not math.isfinite(value):
        raise Invalid(f"{what} must be a finite number, got {value}")
    return value


def public(inc: Incident) -> dict:
    return {"id": inc.id, "workspace_id": inc.workspace_id, "metric": inc.metric, "slice": inc.slice,
            "direction": inc.direction, "start": inc.window_start, "end": inc.window_end, "baseline": inc.baseline,
            "current": inc.current, "relative_change": inc.relative_change, "severity": inc.severity,
            "status": inc.status, "owner": inc.owner, "top_cause": inc.top_cause,
            "top_confidence": inc.top_confidence, "cause_key": inc.cause_key,
            "symptom_metrics": list(inc.symptom_metrics or [inc.metric]), "scope": inc.scope,
            "first_seen_at": inc.first_seen_at,
            "last_seen_at": inc.last_seen_at, "seen_count": inc.seen_count}


def state(inc: Incident) -> dict:
    """What the audit trail records of an incident's human-owned state."""
    return {"status": inc.status, "owner": inc.owner, "notes": inc.notes}


def detail(session: Session, inc: Incident) -> dict:
    """The incident's incidents.json entry (its payload, key for key) with its life in the service; the
    columns win where both say the same thing (the window, extended by later runs; the latest figures)."""
    feedback = session.scalars(sa.select(Feedback).where(Feedback.incident_id == inc.id).order_by(Feedback.id)).all()
    return {**(inc.payload or {}), **public(inc), "external_id": inc.external_id, "notes": inc.notes,
            "run_id": inc.run_id, "dedup_key": inc.dedup_key, "feedback": list(feedback)}


@dataclass
class UpsertResult:
    created: list[Incident] = field(default_factory=list)
    updated: list[Incident] = field(default_factory=list)


def _top_cause(item: IncidentIn) -> tuple[str | None, float | None]:
    causes = sorted(item.causes, key=lambda c: -(c.confidence or 0.0))
    if not causes:
        return None, None
    top = causes[0]
    label = top.change_event or top.feature or top.hypothesis
    return f"{top.hypothesis}: {label}" if label != top.hypothesis else top.hypothesis, top.confidence


def _payload(item: IncidentIn) -> dict:
    payload = item.model_dump(mode="json", exclude_none=False)
    try:
        json.dumps(payload, allow_nan=False)
    except ValueError:
        raise Invalid(f"incident {item.id or item.metric}: numbers must be finite (no NaN or Infinity)") from None
    return payload


def upsert(session: Session, ws: Workspace, items: Iterable[IncidentIn | dict], actor: Actor,
           run_id: int | None = None) -> UpsertResult:
    """Store incidents from the pipeline, deduplicated; returns which were created and which updated."""
    result = UpsertResult()
    now = utcnow()
    for raw in items:
        item = raw if isinstance(raw, IncidentIn) else IncidentIn.model_validate(raw)
        start, end = naive_utc(item.start), naive_utc(item.end)
        if end < start:
            raise Invalid(f"incident {item.id or item.metric}: end {end} is before start {start}")
        slice_key = canonical_slice(item.slice)
        baseline, current = _finite(item.baseline, "baseline"), _finite(item.current, "current")
        rel = relative_change(baseline, current)
        top, confidence = _top_cause(item)
        payload = _payload(item)
        symptoms = [s.metric for s in item.symptoms] or [item.metric]
        scope = ";".join(item.measured_in) or None
        existing = _existing(session, ws, item, slice_key, start, end)
        if existing is None:
            inc = Incident(workspace_id=ws.id, external_id=item.id, metric=item.metric, slice=slice_key,
                           direction=item.direction, window_start=start, window_end=end, baseline=baseline,
                           current=current, relative_change=rel, severity=item.severity or severity_of(rel),
                           status="open", notes="", top_cause=top, top_confidence=confidence, payload=payload,
                           cause_key=item.cause_key, symptom_metrics=symptoms, scope=scope,
                           run_id=run_id, seen_count=1, first_seen_at=now, last_seen_at=now)
            session.add(inc)
            session.flush()
            audit.record(session, actor, "incident.create", "incident", inc.id, None, public(inc))
            result.created.append(inc)
            continue
        before = public(existing)
        existing.window_end = max(existing.window_end, end)
        existing.external_id = item.id or existing.external_id
        existing.direction = item.direction
        existing.baseline, existing.current, existing.relative_change = baseline, current, rel
        existing.severity = item.severity or severity_of(rel)
        existing.top_cause, existing.top_confidence = top, confidence
        existing.metric, existing.slice = item.metric, slice_key  # the most affected symptom may change
        existing.cause_key = item.cause_key or existing.cause_key
        existing.symptom_metrics = symptoms
        existing.scope = scope
        existing.payload = payload
        existing.run_id = run_id or existing.run_id
        existing.seen_count += 1
        existing.last_seen_at = now
        session.flush()
        after = public(existing)
        changed = {k for k in after if after[k] != before[k]} - {"last_seen_at", "seen_count"}
        if changed:
            audit.record(session, actor, "incident.refresh", "incident", existing.id,
                         {k: before[k] for k in changed}, {k: after[k] for k in changed})
        result.updated.append(existing)
    return result


def _existing(session: Session, ws: Workspace, item: IncidentIn, slice_key: str, start: datetime,
              end: datetime) -> Incident | None:
    """The stored incident ``item`` updates: the same cause over an overlapping window, else the same metric
    and slice over an overlapping window (an incident without a cause, or stored before it had one)."""
    overlapping = (Incident.workspace_id == ws.id, Incident.window_start <= end, Incident.window_end >= start)
    if item.cause_key is not None:
        same = session.scalar(sa.select(Incident).where(*overlapping, Incident.cause_key == item.cause_key)
                              .order_by(Incident.window_start.desc()).limit(1))
        if same is not None:
            return same
    return session.scalar(sa.select(Incident).where(*overlapping, Incident.metric == item.metric,
                                                    Incident.slice == slice_key)
                          .order_by(Incident.window_start.desc()).limit(1))


def get(session: Session, incident_id: int) -> Incident:
    inc = session.get(Incident, incident_id)
    if inc is None:
        raise NotFound(f"incident {incident_id} not found")
    return inc


def active_payloads(session: Session, workspace_id: int) -> list[dict]:
    """The stored entries (incidents.json shape) of a workspace's open and acknowledged incidents."""
    rows = session.scalars(sa.select(Incident.payload).where(Incident.workspace_id == workspace_id,
                                                             Incident.status.in_(("open", "acknowledged"))))
    return [p for p in rows if isinstance(p, dict)]


def _filters(workspace_id: int | None, metric: str | None, status: str | None, severity: str | None,
             since: datetime | None) -> list:
    filters = []
    if workspace_id is not None:
        filters.append(Incident.workspace_id == workspace_id)
    if metric:
        filters.append(Incident.metric == metric)
    if status:
        filters.append(Incident.status == status)
    if severity:
        filters.append(Incident.severity == severity)
    if since is not None:
        filters.append(Incident.window_end >= naive_utc(since))
    return filters


LIST_COLUMNS = (Incident.id, Incident.workspace_id, Incident.metric, Incident.slice, Incident.direction,
                Incident.window_start.label("start"), Incident.window_end.label("end"), Incident.baseline,
                Incident.current, Incident.relative_change, Incident.severity, Incident.status, Incident.owner,
                Incident.top_cause, Incident.top_confidence, Incident.cause_key, Incident.symptom_metrics,
                Incident.scope,
                Incident.first_seen_at, Incident.last_seen_at, Incident.seen_count)


def list_incidents(session: Session, *, workspace_id: int | None = None, metric: str | None = None,
                   status: str | None = None, severity: str | None = None, since: datetime | None = None,
                   limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """One page of incidents, newest window first, without the heavy payload."""
    filters = _filters(workspace_id, metric, status, severity, since)
    count = session.scalar(sa.select(sa.func.count()).select_from(Incident).where(*filters))
    result = session.execute(sa.select(*LIST_COLUMNS).where(*filters)
                             .order_by(Incident.window_start.desc(), Incident.id.desc()).limit(limit).offset(offset))
    keys = list(result.keys())
    rows = [dict(zip(keys, row)) for row in result.all()]
    for row in rows:  # an incident stored before incidents were grouped by cause is its own only symptom
        row["symptom_metrics"] = list(row["symptom_metrics"] or [row["metric"]])
    return rows, count


def summary(session: Session, *, workspace_id: int | None = None, since: datetime | None = None) -> dict:
    filters = _filters(workspace_id, None, None, None, since)
    out = {"count": 0, "by_status": {}, "by_severity": {}, "by_metric": {}}
    for column, key in ((Incident.status, "by_status"), (Incident.severity, "by_severity"),
                        (Incident.metric, "by_metric")):
        rows = session.execute(sa.select(column, sa.func.count()).where(*filters).group_by(column)).all()
        out[key] = {value: n for value, n in rows}
    out["count"] = sum(out["by_status"].values())
    return out


def update(session: Session, inc: Incident, *, status: str | None, owner: str | None, notes: str | None,
           actor: Actor) -> Incident:
    """Change status (along `TRANSITIONS`), owner or notes; audited with before and after."""
    before = state(inc)
    if status is not None and status != inc.status:
        if status not in TRANSITIONS[inc.status]:
            raise Conflict(f"incident {inc.id} is {inc.status}; it can move to "
                           f"{', '.join(sorted(TRANSITIONS[inc.status]))}, not {status}")
        inc.status = status
    if owner is not None:
        inc.owner = owner.strip() or None
    if notes is not None:
        inc.notes = notes
    after = state(inc)
    if after != before:
        session.flush()
        action = "incident.status" if after["status"] != before["status"] else "incident.update"
        audit.record(session, actor, action, "incident", inc.id, before, after)
    return inc


def add_feedback(session: Session, inc: Incident, label: str, comment: str, actor: Actor) -> Feedback:
    """Record a verdict; confirmed acknowledges an open incident, false_alarm and expected_change dismiss it."""
    fb = Feedback(incident_id=inc.id, label=label, comment=comment, actor=actor.name)
    session.add(fb)
    session.flush()
    audit.record(session, actor, "incident.feedback", "incident", inc.id, None,
                 {"feedback_id": fb.id, "label": label, "comment": comment})
    target = FEEDBACK_STATUS[label]
    if inc.status in ("open", "acknowledged") and inc.status != target:
        update(session, inc, status=target, owner=None, notes=None, actor=actor)
    return fb


def list_feedback(session: Session, inc: Incident) -> list[Feedback]:
    return list(session.scalars(sa.select(Feedback).where(Feedback.incident_id == inc.id).order_by(Feedback.id)))
