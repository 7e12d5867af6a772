"""Incidents as JSON (`incidents.json`) and as a readable report (`report.md`), written atomically.

Every sentence of the report comes from a deterministic template filled with numbers the engine
computed; nothing is written that is not in the evidence.
"""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from data.atomic import write_atomically
from data.workspace import Workspace
from rca.types import Cause, Evidence, Incident

SCHEMA_VERSION = 1


def jsonable(value: Any) -> Any:
    """Plain JSON values from dataclasses, pydantic models, numpy scalars, datetimes; NaN/inf become null."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if hasattr(value, "model_dump"):
        return jsonable(value.model_dump())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if hasattr(value, "key") and hasattr(value, "filters"):  # a Slice
        return value.key
    return str(value)


def evidence_dict(ev: Evidence) -> dict:
    return {"test": ev.test, "effect": jsonable(ev.effect),
            "interval": None if ev.interval is None else {"low": jsonable(ev.interval.low), "high": jsonable(ev.interval.high),
                                                          "level": ev.interval.level},
            "p_value": jsonable(ev.p_value), "supports": ev.supports, "detail": jsonable(ev.detail)}


def cause_dict(cause: Cause) -> dict:
    return {
        "hypothesis": cause.hypothesis, "change_event": cause.change_event, "feature": cause.feature,
        "confidence": cause.confidence, "scope": [s.key for s in cause.scope] or ["*"],
        "events": list(cause.events), "onset": jsonable(cause.onset), "summary": cause.summary,
        "remediation_tags": list(cause.remediation_tags),
        "evidence": {name: evidence_dict(ev) for name, ev in cause.evidence.items()},
        "score_inputs": jsonable(cause.score_inputs),
    }


def incident_dict(incident: Incident, ws: Workspace | None = None) -> dict:
    r = incident.regression
    spec = ws.metric(r.metric) if ws is not None else None
    localized = bool(r.slices) or (incident.scope is not None and incident.scope != (r.slice,))
    slices = [{"slice": s.key, "share": jsonable(round(s.share, 4)) if localized else None} for s in incident.slices]
    detector = [{"slice": s.key, "share": jsonable(round(s.share, 4))} for s in r.slices]
    return {
        "id": r.id, "metric": r.metric, "direction": r.direction,
        "good": spec.good if spec else None, "unit": spec.unit if spec else None,
        "start": r.start.isoformat(), "end": r.end.isoformat(),
        "onset": jsonable(incident.onset),
        "baseline": jsonable(r.baseline), "current": jsonable(r.current), "change": jsonable(r.change),
        "change_interval": {"low": jsonable(r.change_interval.low), "high": jsonable(r.change_interval.high)},
        "relative_change": jsonable(r.relative_change), "p_value": jsonable(r.p_value), "q_value": jsonable(r.q_value),
        "slice": r.slice.key,  # where the detector saw it (the backend's dedup key)
        "detected_in": r.slice.key,
        "slices": slices,
        "localized_slices": detector,
        "inconclusive": incident.inconclusive, "candidates_tested": incident.candidates,
        "confirmation": None if incident.confirmation is None else evidence_dict(incident.confirmation),
        "causes": [cause_dict(c) for c in incident.causes],
        "notes": list(incident.notes),
        "regression": jsonable(r),
    }


def severity(incident: Incident) -> float:
    """How clearly an incident stands out, for ordering: |change| over its standard error (a z-score)."""
    r = incident.regression
    se = (r.change_interval.high - r.change_interval.low) / (2 * 1.96)
    if not (math.isfinite(r.change) and math.isfinite(se)) or se <= 0:
        return abs(r.relative_change) if math.isfinite(r.relative_change) else 0.0
    return abs(r.change) / se


def incidents_document(incidents: list[Incident], ws: Workspace, extra: dict | None = None) -> dict:
    ordered = sorted(incidents, key=lambda i: (-severity(i), i.regression.metric, i.regression.id))
    doc = {"schema_version": SCHEMA_VERSION, "workspace": ws.name, "generated_by": "cxw analyze",
           "incidents": [incident_dict(i, ws) for i in ordered]}
    if extra:
        doc.update(jsonable(extra))
    return doc


def _fmt(value: float | None, unit: str | None, rate: bool) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    if rate:
        return f"{value * 100:.2f}%"
    return f"{value:.4g}{' ' + unit if unit else ''}"


def _fmt_p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2g}"


def _fmt_change(value: float | None, unit: str | None, rate: bool) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    if rate:
        return f"{value * 100:+.2f} pp"
    return f"{value:+.4g}{' ' + unit if unit else ''}"


def render_markdown(doc: dict, ws: Workspace) -> str:
    """The report: one section per incident, causes with their evidence, in deterministic sentences."""
    lines = [f"# Incident report — {doc['workspace']}", ""]
    incidents = doc["incidents"]
    dismissed = doc.get("dismissed") or []
    if dismissed:
        lines += [f"{len(dismissed)} detected regression(s) dismissed: their change does not stand out from the "
                  "series' ordinary ups and downs (placebo-split test) and no candidate explains them — "
                  + ", ".join(f"{d['metric']} in {d['slice']}" for d in dismissed) + ".", ""]
    if not incidents:
        lines += ["No regression was detected: nothing to explain." if not dismissed else "Nothing left to explain.", ""]
        return "\n".join(lines)
    lines += [f"{len(incidents)} incident(s), most severe first. Confidence is the calibrated probability that "
              "the cause is the true one; *inconclusive* means no candidate reached the bar.", ""]
    lines += ["| # | metric | where | change | top cause | confidence |", "|---|---|---|---|---|---|"]
    for n, inc in enumerate(incidents, start=1):
        spec = ws.metric(inc["metric"])
        rate = spec.type == "rate"
        where = ", ".join(s["slice"] for s in inc["slices"][:3])
        top = inc["causes"][0] if inc["causes"] else None
        name = "inconclusive" if inc["inconclusive"] or top is None else (
            f"{top['hypothesis']}: {top['change_event'] or top['feature']}")
        conf = f"{top['confidence']:.0%}" if top else "—"
        lines.append(f"| {n} | {inc['metric']} | {where} | {_fmt(inc['baseline'], spec.unit, rate)} → "
                     f"{_fmt(inc['current'], spec.unit, rate)} | {name} | {conf} |")
    lines.append("")
    for n, inc in enumerate(incidents, start=1):
        spec = ws.metric(inc["metric"])
        rate = spec.type == "rate"
        lines += [f"## {n}. {inc['metric']} {'fell' if inc['direction'] == 'down' else 'rose'} "
                  f"({inc['id']})", ""]
        lines.append(f"- **When:** from {inc['start']} to {inc['end']}"
                     + (f"; change point inside the localized scope at {inc['onset']}" if inc["onset"] else "") + ".")
        ci = inc["change_interval"]
        lines.append(f"- **How much:** {_fmt(inc['baseline'], spec.unit, rate)} → {_fmt(inc['current'], spec.unit, rate)} "
                     f"({_fmt_change(inc['change'], spec.unit, rate)}, 95% CI {_fmt_change(ci['low'], spec.unit, rate)} "
                     f"to {_fmt_change(ci['high'], spec.unit, rate)}; q = {_fmt_p(inc['q_value'])}).")
        where = ", ".join(f"{s['slice']} ({s['share']:.0%} of the change)" if s["share"] is not None
                          else f"{s['slice']} (as detected; not localized further)" for s in inc["slices"][:5])
        lines.append(f"- **Where:** {where}.")
        lines.append(f"- **Candidates tested:** {inc['candidates_tested']}.")
        lines.append("")
        if inc["inconclusive"]:
            lines += ["**Inconclusive.** No candidate cause reaches the confidence bar"
                      + (f"; the strongest is {inc['causes'][0]['change_event'] or inc['causes'][0]['feature']} "
                         f"at {inc['causes'][0]['confidence']:.0%}." if inc["causes"] else "."), ""]
        for k, cause in enumerate(inc["causes"], start=1):
            label = cause["change_event"] or cause["feature"]
            lines += [f"### Cause {k}: {cause['hypothesis']} — {label} ({cause['confidence']:.0%})", "",
                      cause["summary"], ""]
            lines += _evidence_lines(cause["evidence"], spec, rate)
            if cause["remediation_tags"]:
                lines += [f"Remediation tags: {', '.join(cause['remediation_tags'])}.", ""]
        for note in inc["notes"]:
            lines.append(f"> {note}")
        if inc.get("recommendations_markdown"):
            lines += ["", inc["recommendations_markdown"].strip(), ""]
        lines.append("")
    return "\n".join(lines)


def _evidence_lines(ev: dict, spec, rate: bool) -> list[str]:
    out = ["| test | result | supports |", "|---|---|---|"]
    for name in ("timing", "scope", "did", "event_study", "placebo_time", "placebo_scope", "placebo_its", "shap"):
        e = ev.get(name)
        if e is None:
            continue
        e = {**e.get("detail", {}), **{k: v for k, v in e.items() if k != "detail"}}
        out.append(f"| {name} | {_evidence_text(name, e, spec, rate)} | {'yes' if e['supports'] else 'no'} |")
    return out + [""]


def _evidence_text(name: str, e: dict, spec, rate: bool) -> str:
    if name == "timing":
        if e["effect"] is None:
            return e.get("reason", "n/a")
        return (f"starts {e['effect']:+.1f} h from the change point ({e['change_point']}); "
                f"p = {_fmt_p(e['p_value'])} under a uniformly timed change")
    if name == "scope":
        return (f"Jaccard {e['jaccard']:.2f} of affected traffic; covers {e['covers_regression']:.0%} of the "
                f"regression, {e['regressed_share_of_scope']:.0%} of its scope regressed")
    if not e.get("testable", True):
        return f"not testable: {e.get('reason')}"
    if name == "did":
        iv = e["interval"] or {}
        return (f"{e.get('design')}: {_fmt_change(e['effect'], spec.unit, rate)} "
                f"[{_fmt_change(iv.get('low'), spec.unit, rate)}, {_fmt_change(iv.get('high'), spec.unit, rate)}], "
                f"p = {_fmt_p(e['p_value'])}, q = {_fmt_p(e.get('q_value'))}; {e['treated_units']} treated vs "
                f"{e['control_units']} control units, "
                f"{e['clusters']} clusters")
    if name == "event_study":
        p = e.get("pretrend_p")
        lags = [x for x in e.get("periods", []) if x["k"] >= 0]
        first = f"first period {_fmt_change(lags[0]['effect'], spec.unit, rate)}" if lags else "no lags"
        return f"pre-trend p = {_fmt_p(p)}; {first}" if p is not None else first
    if name in ("placebo_time", "placebo_scope"):
        zs = e.get("placebo_z", [])
        return (f"real z = {e.get('real_z')}; {len(zs)} placebos, largest |z| = {max(map(abs, zs)) if zs else 0:.2f}; "
                f"permutation p = {_fmt_p(e['p_value'])}")
    if name == "placebo_its":
        return (f"jump {_fmt_change(e['effect'], spec.unit, rate)} at the change vs "
                f"{len(e.get('placebo_jumps', []))} placebo days; permutation p = {_fmt_p(e['p_value'])}")
    if name == "shap":
        if not e.get("feature"):
            return e.get("reason", "no driver")
        dist = e.get("distribution") or {}
        moved = ""
        if dist:
            if dist.get("level") is not None:
                moved = (f"; share of {dist['level']} {dist['share_before']:.0%} → {dist['share_after']:.0%}")
            else:
                moved = f"; mean {dist['before']:.4g} → {dist['after']:.4g}"
            moved += f" (PSI {dist['psi']:.2f}, {dist['test']} p = {_fmt_p(dist['p_value'])})"
        return f"{e['feature']} carries {e['share_of_change']:.0%} of the change by SHAP{moved}"
    return json.dumps(e)[:200]


def write_outputs(out_dir: Path, doc: dict, markdown: str) -> tuple[Path, Path]:
    """``out_dir/incidents.json`` and ``out_dir/report.md``, each replaced atomically."""
    out_dir = Path(out_dir)
    incidents, report = out_dir / "incidents.json", out_dir / "report.md"
    write_atomically(incidents, json.dumps(doc, indent=2, allow_nan=False) + "\n")
    write_atomically(report, markdown)
    return incidents, report
