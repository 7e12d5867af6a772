"""Incident payloads in the typed wire shape (incidents.json schema 2): evidence with its ``test`` and one
interval shape, the RCA's notes as ``analysis_notes``, the regression's slices as text, no
``affected_orders_per_day`` (it is ``impact.orders_per_day``).

The payload of an incident is its incidents.json entry. Rows stored before this revision hold the entry
as the engine wrote it then (schema 1); this rewrites each one into schema 2, key by key, so the API's
typed incident detail reads every stored incident. Downgrade writes schema 1 back.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
INCIDENT = sa.table('incident', sa.column('id', sa.Integer), sa.column('payload', JSON))
EVIDENCE_KEYS = ("test", "effect", "interval", "p_value", "supports", "rule", "detail")


def _interval(value):
    """``[low, high]`` or ``{low, high[, level]}`` as ``{low, high, level}`` (None stays None)."""
    if isinstance(value, list) and len(value) == 2:
        return {"low": value[0], "high": value[1], "level": 0.95}
    if isinstance(value, dict) and "low" in value and "high" in value:
        return {"low": value["low"], "high": value["high"], "level": value.get("level", 0.95)}
    return None


def _slice_key(value) -> str:
    """A slice written as text, or as the dataclass form ``{"filters": [[dim, value], ...]}``."""
    if isinstance(value, dict) and "filters" in value:
        return "&".join(f"{d}={v}" for d, v in sorted(value["filters"])) or "*"
    if isinstance(value, dict) and "slice" in value:
        return str(value["slice"])
    return str(value)


def _evidence(name: str, ev: dict) -> dict:
    """One evidence entry in the typed shape: its test, the one interval shape, the details under ``detail``
    (keys written beside effect and p-value move there)."""
    detail = dict(ev.get("detail") or {})
    detail.update({k: v for k, v in ev.items() if k not in EVIDENCE_KEYS})
    test = ev.get("test") or name
    if test == "timing":
        span = detail.get("change_point_interval")
        if isinstance(span, list) and len(span) == 2:
            detail["change_point_interval"] = {"low": span[0], "high": span[1]}
        if detail.get("change_point") is None and detail.get("reason"):
            detail["testable"] = False
    if test == "event_study":
        detail["periods"] = [p if "interval" in p else
                             {"k": p["k"], "effect": p.get("effect"),
                              "interval": {"low": p.get("low"), "high": p.get("high"), "level": 0.95}}
                             for p in detail.get("periods") or []]
    return {"test": test, "effect": ev.get("effect"), "interval": _interval(ev.get("interval")),
            "p_value": ev.get("p_value"), "supports": bool(ev.get("supports")), "rule": ev.get("rule") or "",
            "detail": detail}


def upgrade_payload(payload: dict) -> dict:
    """One stored incidents.json entry from schema 1 to schema 2 (an entry already in schema 2 is unchanged)."""
    out = dict(payload)
    if isinstance(out.get("notes"), list):
        out["analysis_notes"] = out.pop("notes")
    for cause in out.get("causes") or []:
        cause["evidence"] = {name: _evidence(name, ev) for name, ev in (cause.get("evidence") or {}).items()
                             if isinstance(ev, dict)}
    if isinstance(out.get("confirmation"), dict):
        out["confirmation"] = _evidence("confirmation", out["confirmation"])
    for s in out.get("symptoms") or []:
        s["change_interval"] = _interval(s.get("change_interval"))
    if "change_interval" in out:
        out["change_interval"] = _interval(out["change_interval"])
    reg = out.get("regression")
    if isinstance(reg, dict):
        reg["slice"] = _slice_key(reg.get("slice", "*"))
        reg["slices"] = [{"slice": _slice_key(s), "share": s.get("share") if isinstance(s, dict) else None,
                          "score": s.get("score") if isinstance(s, dict) else None} for s in reg.get("slices") or []]
        for key in ("change_interval", "relative_interval"):
            reg[key] = _interval(reg.get(key)) or {"low": None, "high": None, "level": 0.95}
    for rec in out.get("recommendations") or []:
        if isinstance(rec, dict):
            rec.pop("affected_orders_per_day", None)
    return out


def downgrade_payload(payload: dict) -> dict:
    """Schema 2 back to schema 1: the RCA's notes as ``notes`` (the rest reads in both)."""
    out = dict(payload)
    if "analysis_notes" in out:
        out["notes"] = out.pop("analysis_notes")
    return out


def _rewrite(change) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(INCIDENT.c.id, INCIDENT.c.payload)).all()
    for row_id, payload in rows:
        if isinstance(payload, dict):
            conn.execute(INCIDENT.update().where(INCIDENT.c.id == row_id).values(payload=change(payload)))


def upgrade() -> None:
    _rewrite(upgrade_payload)


def downgrade() -> None:
    _rewrite(downgrade_payload)
