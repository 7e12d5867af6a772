"""Incident payloads in the typed wire shape (incidents.json schema 2): evidence with its ``test`` and one
interval shape, the RCA's notes as ``analysis_notes``, the regression's slices as text, no
``affected_orders_per_day`` (it is ``impact.orders_per_day``).

The payload of an incident is its incidents.json entry. Rows stored before this revision hold the entry
as the engine wrote it then (schema 1, untyped: keys of older engine versions too); this rewrites each one
into schema 2, key by key, so the API's typed incident detail reads every stored incident. Keys that
schema 2 does not define (snapshots below: an entry's, each test's detail, the scan's facts) and evidence
of tests it does not know are dropped. Downgrade writes the RCA notes back as ``notes``.

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
# schema 2 as of this revision
ENTRY_KEYS = {
    "baseline", "current", "change", "change_interval", "relative_change", "measured_in", "measured_from", "onset_used",
    "volume_per_day", "impact_per_day", "id", "metric", "direction", "good", "unit", "start", "end", "onset", "p_value",
    "q_value", "standard_errors", "severity", "cause_key", "symptoms", "slice", "detected_in", "slices",
    "localized_slices", "inconclusive", "candidates_tested", "confirmation", "causes", "rejected", "shares_overlap",
    "analysis_notes", "regression", "recommendations", "experiment_plan", "recommendation_status", "next_steps",
    "pm_summary", "pm_table", "recommendation_notes"}
DETAIL_KEYS = {
    "timing": {"testable", "reason", "change_point", "change_point_interval", "candidate_time", "hours_from_change_point",
               "before", "after", "shift_statistic", "window_hours", "misfit_statistic", "misfit_p", "share_of_shift_lost",
               "half_widths_outside_interval", "onset_statement", "waves", "timed_by", "onset_scope", "onset_control"},
    "scope": {"testable", "reason", "jaccard", "weighted_jaccard", "covers_regression", "covers_change",
              "regressed_share_of_scope", "candidate_scope", "localized", "records"},
    "did": {"testable", "reason", "design", "cohorts", "controls", "unit", "periods_before", "periods_after", "period_hours",
            "z", "z_in_direction", "relative_effect", "treated_pre_mean", "treated_units", "control_units", "clusters",
            "treated_clusters", "cells", "standard_errors", "q_value", "fdr"},
    "event_study": {"testable", "reason", "periods", "pretrend_p", "largest_lead_to_effect", "pretrend_violated",
                    "treated_clusters", "note"},
    "placebo_time": {"testable", "reason", "placebo_periods_back", "placebo_z", "placebo_effects", "real_z",
                     "largest_placebo_z", "significant_placebos", "effect_is", "interval_is"},
    "placebo_scope": {"testable", "reason", "placebos", "placebo_z", "placebo_effects", "real_z", "largest_placebo_z",
                      "placebos_as_large", "effect_is", "interval_is"},
    "placebo_its": {"testable", "reason", "jump", "placebo_jumps", "window_hours", "interval_is"},
    "confirmation": {"testable", "reason", "jump", "placebo_splits", "as_large", "window_hours", "interval_is", "note"},
    "shap": {"testable", "reason", "feature", "scope", "share_of_change", "delta_mean_shap", "delta_mean_abs_shap",
             "observed_change", "model_change", "rows_before", "rows_after", "sample_sizing", "model_r2", "top_inputs",
             "interval_is", "distribution", "mediates_change"},
}
SCAN_FACTS = {"good", "unit", "ongoing", "log10_p", "strongest_slice", "slice_log10_p", "slice_q_value", "members",
              "member_slices", "first_slice", "changepoint_start"}


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
            "detail": {k: v for k, v in detail.items() if k in DETAIL_KEYS[test]}}


def upgrade_payload(payload: dict) -> dict:
    """One stored incidents.json entry from schema 1 to schema 2 (an entry already in schema 2 is unchanged)."""
    out = dict(payload)
    if isinstance(out.get("notes"), list):
        out["analysis_notes"] = out.pop("notes")
    out = {k: v for k, v in out.items() if k in ENTRY_KEYS}
    for cause in out.get("causes") or []:
        cause["evidence"] = {name: _evidence(name, ev) for name, ev in (cause.get("evidence") or {}).items()
                             if isinstance(ev, dict) and (ev.get("test") or name) in DETAIL_KEYS}
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
        reg["extra"] = {k: v for k, v in (reg.get("extra") or {}).items() if k in SCAN_FACTS}
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
