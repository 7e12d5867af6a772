"""Incidents as JSON (`incidents.json`) and as a readable report (`report.md`), written atomically.

Every sentence of the report comes from a deterministic template filled with numbers the engine
computed; nothing is written that is not in the evidence. The narrative paragraphs (each cause's summary,
the inconclusive verdict) go through a `data.narrative.Narrator`: the templates' text by default, or an
optional language model's rewording that keeps every number (`backend.llm.ModelNarrator`), in which case
a provenance line under the title says which paragraphs it reworded.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from data import units
from data.atomic import write_atomically
from data.narrative import TEMPLATES, Narrator, Paragraph, with_provenance
from data.slices import Slice
from data.wire import WIRE, Real
from data.workspace import Workspace
from detection.types import Interval, Regression
from rca.grouping import slices_overlap
from rca.types import Cause, ConfirmationEvidence, Incident, Rejected

SCHEMA_VERSION = 2  # 2: typed evidence (one model per test), one interval shape, ``analysis_notes``

Severity = Literal["low", "medium", "high", "critical"]


class SliceShare(BaseModel):
    """A localized slice with its share of the change (null when the incident was not localized further)."""

    model_config = WIRE

    slice: str = Field(max_length=1000)
    share: float | None = None


class Figures(BaseModel):
    """The numbers a person reads: before → after in the incident's own scope (`rca.scoped`), else the
    detector's figures in the slice where it saw the regression."""

    model_config = WIRE

    baseline: Real | None = None
    current: Real | None = None
    change: Real | None = None
    change_interval: Interval | None = None
    relative_change: Real | None = None
    measured_in: tuple[str, ...] = Field(default=(), description=(
        "The slices baseline, current and change are measured in: the incident's own scope (* = everything)"))
    measured_from: datetime | None = Field(default=None, description="Start of the baseline window")
    onset_used: datetime | None = Field(default=None, description="Baseline before it, current from it")
    volume_per_day: float | None = Field(default=None, description="Records in the scope per day after the onset")
    impact_per_day: Real | None = Field(default=None, description=(
        "change × the records the metric counts, per day: for a rate, records whose outcome flipped"))


class Moved(Figures):
    """A metric that moved: which, which way (and which way is good), over which window, from which onset,
    how sure (q-value) and how far (standard errors)."""

    metric: str = Field(min_length=1, max_length=200)
    direction: Literal["up", "down"]
    good: Literal["up", "down"] | None = None
    unit: str | None = None
    start: datetime
    end: datetime
    onset: datetime | None = None
    q_value: Real | None = None
    standard_errors: float | None = Field(default=None, description="|change| over its standard error")


class Symptom(Moved):
    """One regression that the incident's cause explains: a metric that moved, with its own numbers."""

    id: str = Field(max_length=200, description="The regression's id")
    severity: Severity = Field(description="From standard_errors: critical ≥ 20, high ≥ 10, medium ≥ 5, else low")
    detected_in: str = Field(max_length=1000, description="The slice where the detector saw it")


class IncidentReport(Moved):
    """An incident as `cxw analyze` writes it to incidents.json (one cause with its symptoms): the engine's
    values (`Regression`, `Cause` with typed evidence, `Rejected`) with the figures a person reads."""

    id: str | None = Field(default=None, max_length=200, description="The most affected regression's id")
    p_value: Real | None = None
    severity: Severity | None = None
    cause_key: str | None = Field(default=None, max_length=500, description=(
        "The confirmed cause the incident groups on (change:<event> or driver:<feature>): the dedup key "
        "with the window; null without a confirmed cause (then metric and slice are)"))
    symptoms: tuple[Symptom, ...] = Field(default=(), description=(
        "Every regression the cause explains, the most affected (this incident's metric) first"))
    slice: str = Field(default="*", max_length=1000, description="Where the regression was detected (* = total)")
    detected_in: str | None = Field(default=None, max_length=1000)
    slices: tuple[SliceShare, ...] = ()
    localized_slices: tuple[SliceShare, ...] = Field(default=(), description="The detector's localized slices")
    inconclusive: bool = False
    candidates_tested: int = 0
    confirmation: ConfirmationEvidence | None = None
    causes: tuple[Cause, ...] = ()
    rejected: tuple[Rejected, ...] = Field(default=(), description="Candidates tested and ruled out")
    shares_overlap: bool | None = Field(default=None, description=(
        "Do the localized slices overlap (then their shares of the change do not add up to 100%)?"))
    analysis_notes: tuple[str, ...] = Field(default=(), description="What the RCA stage noted while explaining it")
    regression: Regression | None = Field(default=None, description="The detector's regression, as it found it")


class Dismissed(BaseModel):
    """A detected regression that RCA dismissed: not confirmed (its change does not stand out) and no cause."""

    model_config = WIRE

    id: str
    metric: str
    slice: str
    start: datetime
    reason: str
    confirmation_p: Real | None


def dismissed(incident: Incident) -> Dismissed:
    r = incident.regression
    return Dismissed(id=r.id, metric=r.metric, slice=r.slice.key, start=r.start,
                     reason="its change does not stand out from the series' ordinary ups and downs and no "
                            "candidate explains it",
                     confirmation_p=incident.confirmation.p_value if incident.confirmation else None)


def figures(incident: Incident) -> Figures:
    """The numbers a person reads: before → after in the incident's own scope (`rca.scoped`), else the
    detector's figures in the slice where it saw the regression."""
    r, m = incident.regression, incident.measured
    if m is None:
        return Figures(baseline=r.baseline, current=r.current, change=r.change,
                       change_interval=r.change_interval, relative_change=r.relative_change,
                       measured_in=(r.slice.key,), onset_used=r.start)
    relative = m.change / abs(m.before) if m.before and math.isfinite(m.before) else float("nan")
    return Figures(baseline=m.before, current=m.after, change=m.change, change_interval=m.interval,
                   relative_change=relative, measured_in=tuple(s.key for s in m.scope),
                   measured_from=m.baseline_start, onset_used=m.onset, volume_per_day=round(m.per_day, 1),
                   impact_per_day=m.impact_per_day)


def _figures(incident: Incident) -> dict:
    return dict(figures(incident))


def symptom(incident: Incident, ws: Workspace | None = None) -> Symptom:
    """One regression of an incident (a symptom of its cause), with its own numbers and severity."""
    r = incident.regression
    spec = ws.metric(r.metric) if ws is not None else None
    z = severity(incident)
    return Symptom(id=r.id, metric=r.metric, direction=r.direction, good=spec.good if spec else None,
                   unit=spec.unit if spec else None, start=r.start, end=r.end, onset=incident.onset,
                   **_figures(incident), q_value=r.q_value, standard_errors=round(z, 2),
                   severity=severity_label(z), detected_in=r.slice.key)


def incident_report(incident: Incident, ws: Workspace | None = None) -> IncidentReport:
    """The incidents.json form of an incident (see `IncidentReport`)."""
    r = incident.regression
    spec = ws.metric(r.metric) if ws is not None else None
    localized = bool(r.slices) or (incident.scope is not None and incident.scope != (r.slice,))
    slices = tuple(SliceShare(slice=s.key, share=round(s.share, 4) if localized else None) for s in incident.slices)
    detector = tuple(SliceShare(slice=s.key, share=round(s.share, 4)) for s in r.slices)
    symptoms = tuple(symptom(s, ws) for s in incident.all_symptoms)
    return IncidentReport(
        id=r.id, metric=r.metric, direction=r.direction, good=spec.good if spec else None,
        unit=spec.unit if spec else None, start=r.start, end=r.end, onset=incident.onset, **_figures(incident),
        p_value=r.p_value, q_value=r.q_value, standard_errors=symptoms[0].standard_errors,
        severity=symptoms[0].severity,
        cause_key=incident.cause_key,  # the backend's dedup key when set (one incident per cause)
        symptoms=symptoms,
        slice=r.slice.key,  # where the detector saw it (the backend's dedup key without a cause)
        detected_in=r.slice.key, slices=slices, localized_slices=detector, inconclusive=incident.inconclusive,
        candidates_tested=incident.candidates, confirmation=incident.confirmation, causes=incident.causes,
        rejected=incident.rejected, shares_overlap=_overlapping(incident.slices),
        analysis_notes=incident.notes, regression=r)


def severity(incident: Incident) -> float:
    """How far an incident's change is from nothing: |change| over its standard error, measured in its own
    scope when it was (`rca.scoped`), else the detector's; the order of incidents and their severity label."""
    m = incident.measured
    if m is not None and math.isfinite(m.standard_errors):
        return m.standard_errors
    r = incident.regression
    se = (r.change_interval.high - r.change_interval.low) / (2 * 1.96)
    if not (math.isfinite(r.change) and math.isfinite(se)) or se <= 0:
        return abs(r.relative_change) if math.isfinite(r.relative_change) else 0.0
    return abs(r.change) / se


SEVERITY_STANDARD_ERRORS: tuple[tuple[float, Severity], ...] = ((20.0, "critical"), (10.0, "high"), (5.0, "medium"))


def severity_label(standard_errors: float) -> Severity:
    """The severity of a change measured in standard errors (absolute impact, not relative change):
    critical ≥ 20, high ≥ 10, medium ≥ 5, else low."""
    return next((label for bar, label in SEVERITY_STANDARD_ERRORS if standard_errors >= bar), "low")


def incidents_document(incidents: list[Incident], ws: Workspace, extra: dict | None = None) -> dict:
    """The incidents.json document: every incident's `IncidentReport` in its JSON form (most severe first),
    with the run's own keys (``extra``, plain JSON values)."""
    ordered = sorted(incidents, key=lambda i: (-severity(i), i.regression.metric, i.regression.id))
    doc = {"schema_version": SCHEMA_VERSION, "workspace": ws.name, "generated_by": "cxw analyze",
           "incidents": [incident_report(i, ws).model_dump(mode="json") for i in ordered]}
    doc.update(extra or {})
    return doc


def _overlapping(slices: tuple[Slice, ...]) -> bool:
    """Do some of the slices share records (then their shares of the change do not add up)?"""
    return any(slices_overlap(a, b) for i, a in enumerate(slices) for b in slices[i + 1:])


def _fmt_p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2g}"


def _num(st: units.Style, value: float | None) -> str:
    return units.value(st, value) if value is not None else "n/a"


def _chg(st: units.Style, value: float | None) -> str:
    return units.change(st, value) if value is not None else "n/a"


def impact_words(st: units.Style, impact_per_day: float | None, records: str = "records") -> str:
    """The change times the volume it touched, per day: records whose outcome flipped for a rate, the total
    in the metric's unit or currency otherwise."""
    if impact_per_day is None or not units.finite(impact_per_day):
        return "—"
    if st.type == "rate":
        return f"{impact_per_day:+,.0f} {records}/day"
    return units.per_day(st, impact_per_day)


def shares_words(inc: dict) -> str:
    """The localized slices with their shares of the change, saying when they overlap, and what the rest of
    the traffic carries when they do not (so the shares add up to 100%)."""
    shown = [s for s in inc["slices"][:5]]
    if not shown or shown[0]["share"] is None:
        return ", ".join(f"{s['slice']} (as detected; not localized further)" for s in shown)
    words = ", ".join(f"{s['slice']} {s['share']:.0%}" for s in shown)
    if inc.get("shares_overlap"):
        return f"{words} of the change (the slices overlap, so their shares do not add up)"
    rest = 1.0 - sum(s["share"] for s in inc["slices"])
    if abs(rest) < 0.005:
        return f"{words} of the change"
    return (f"{words} of the change; the rest of the traffic {rest:+.0%} "
            f"({'moves the other way' if rest < 0 else 'carries the remainder'}), so the shares add up to 100%")


def onset_words(inc: dict) -> str | None:
    """When it started against the top cause's change time (the timing test's own statement)."""
    top = inc["causes"][0] if inc["causes"] else None
    timing = (top or {}).get("evidence", {}).get("timing") if top else None
    return (timing or {}).get("detail", {}).get("onset_statement")


def render_markdown(doc: dict, ws: Workspace, narrate: Narrator = TEMPLATES) -> str:
    """The report: one section per incident (one per cause), its symptoms measured in its own scope, its
    causes with the decision rule of every test, and the candidates ruled out, in deterministic sentences;
    the narrative paragraphs as ``narrate`` words them (with its provenance line under the title)."""
    return with_provenance(_report_lines(doc, ws, narrate), narrate)


def _report_lines(doc: dict, ws: Workspace, narrate: Narrator) -> list[str]:
    lines = [f"# Incident report — {doc['workspace']}", ""]
    incidents = doc["incidents"]
    dismissed = doc.get("dismissed") or []
    if dismissed:
        lines += [f"{len(dismissed)} detected regression(s) dismissed: their change does not stand out from the "
                  "series' ordinary ups and downs (placebo-split test) and no candidate explains them — "
                  + ", ".join(f"{d['metric']} in {d['slice']}" for d in dismissed) + ".", ""]
    if not incidents:
        lines += ["No regression was detected: nothing to explain." if not dismissed else "Nothing left to explain.", ""]
        return lines
    lines += [f"{len(incidents)} incident(s), one per cause, most severe first. Figures are measured in each "
              "incident's own scope, before its onset and after it. Severity is the change in standard errors "
              "(critical ≥ 20, high ≥ 10, medium ≥ 5). Confidence is the calibrated probability that the cause is "
              "the true one; *inconclusive* means no candidate reached the bar.", ""]
    lines += ["| # | symptoms | where | top cause | confidence | severity |", "|---|---|---|---|---|---|"]
    for n, inc in enumerate(incidents, start=1):
        top = inc["causes"][0] if inc["causes"] else None
        name = "inconclusive" if inc["inconclusive"] or top is None else (
            f"{top['hypothesis']}: {top['change_event'] or top['feature']}")
        conf = f"{top['confidence']:.0%}" if top else "—"
        moved = ", ".join(f"{s['metric']} {_chg(units.style(ws, ws.metric(s['metric'])), s['change'])}"
                          for s in inc["symptoms"])
        lines.append(f"| {n} | {moved} | {_where(inc)} | {name} | {conf} | {inc['severity']} |")
    lines.append("")
    for n, inc in enumerate(incidents, start=1):
        lines += _incident_lines(n, inc, ws, narrate)
    return lines


def _where(inc: dict) -> str:
    return units.scope_words(tuple(Slice.parse(k) for k in inc["measured_in"] if k != "*"))


def _incident_lines(n: int, inc: dict, ws: Workspace, narrate: Narrator) -> list[str]:
    moved = ", ".join(f"{s['metric']} {'fell' if s['direction'] == 'down' else 'rose'}" for s in inc["symptoms"])
    lines = [f"## {n}. {moved} ({inc['id']})", ""]
    onset = onset_words(inc)
    lines.append(f"- **When:** after {inc['onset_used']} (to {inc['end']}), against the baseline from "
                 f"{inc['measured_from'] or inc['start']}" + (f"; {onset}" if onset else "") + ".")
    volume = (f" — {inc['volume_per_day']:,.0f} {ws.records.noun}/day" if inc.get("volume_per_day") is not None
              else "")
    lines.append(f"- **Where:** {_where(inc)}{volume}. Shares: {shares_words(inc)}.")
    lines += ["- **Symptoms** (one cause; the most affected first; in the scope above):", "",
              "  | metric | before → after | change | 95% CI | standard errors | severity | change × volume |",
              "  |---|---|---|---|---|---|---|"]
    for s in inc["symptoms"]:
        st = units.style(ws, ws.metric(s["metric"]))
        ci = s["change_interval"]
        lines.append(f"  | {s['metric']} | {_num(st, s['baseline'])} → {_num(st, s['current'])} | "
                     f"{_chg(st, s['change'])} | {units.span(st, ci['low'], ci['high'])} | "
                     f"{s['standard_errors']} | {s['severity']} | "
                     f"{impact_words(st, s.get('impact_per_day'), ws.records.noun)} |")
    lines.append("")
    seen = ", ".join(f"{s['metric']} in {s['detected_in']}" for s in inc["symptoms"])
    lines.append(f"- **First seen by the detector:** {seen} (q = {_fmt_p(inc['q_value'])} for {inc['metric']}).")
    kept = len(inc["causes"])
    lines.append(f"- **Candidates tested:** {inc['candidates_tested']}: {kept} listed as causes, "
                 f"{len(inc.get('rejected') or [])} ruled out (below).")
    lines.append("")
    if inc["inconclusive"]:
        verdict = "No candidate cause reaches the confidence bar" + (
            f"; the strongest is {inc['causes'][0]['change_event'] or inc['causes'][0]['feature']} "
            f"at {inc['causes'][0]['confidence']:.0%}." if inc["causes"] else ".")
        lines += ["**Inconclusive.** " + narrate(Paragraph.of(f"incident {inc['id']}: the verdict", verdict)), ""]
    spec = ws.metric(inc["metric"])
    for k, cause in enumerate(inc["causes"], start=1):
        label = cause["change_event"] or cause["feature"]
        lines += [f"### Cause {k}: {cause['hypothesis']} — {label} ({cause['confidence']:.0%})", "",
                  narrate(Paragraph.of(f"incident {inc['id']}: cause {k}", cause["summary"])), ""]
        lines += _evidence_lines(cause["evidence"], units.style(ws, spec))
        if cause["remediation_tags"]:
            lines += [f"Remediation tags: {', '.join(cause['remediation_tags'])}.", ""]
    if inc.get("rejected"):
        lines += ["### Candidates ruled out", "", "| candidate | kind | confidence | ruled out by | why |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['candidate']} | {r['kind']} | {r['confidence']:.1%} | {r['ruled_out_by']} | {r['reason']} |"
                  for r in inc["rejected"]]
        lines.append("")
    for note in inc["analysis_notes"]:
        lines.append(f"> {note}")
    if inc.get("recommendations_markdown"):
        lines += ["", inc["recommendations_markdown"].strip(), ""]
    lines.append("")
    return lines


EVIDENCE_ORDER = ("timing", "scope", "did", "event_study", "placebo_time", "placebo_scope", "placebo_its", "shap")


def _evidence_lines(ev: dict, st: units.Style) -> list[str]:
    out = ["| test | result | decision rule, on these numbers | supports |", "|---|---|---|---|"]
    for name in EVIDENCE_ORDER:
        e = ev.get(name)
        if e is None:
            continue
        flat = {**e.get("detail", {}), **{k: v for k, v in e.items() if k != "detail"}}
        rule = e.get("rule") or "—"
        out.append(f"| {name} | {_evidence_text(name, flat, st)} | {rule} | {'yes' if e['supports'] else 'no'} |")
    return out + [""]


def _evidence_text(name: str, e: dict, st: units.Style) -> str:
    if name == "timing":
        if e["effect"] is None:
            return e.get("reason", "n/a")
        return f"{e.get('onset_statement', '')}; p = {_fmt_p(e['p_value'])} under a uniformly timed change"
    if name == "scope":
        return (f"weighted Jaccard {e['weighted_jaccard']:.2f} of affected traffic; covers {e['covers_change']:.0%} of "
                f"the change, {e['regressed_share_of_scope']:.0%} of its scope regressed")
    if not e.get("testable", True):
        return f"not testable: {e.get('reason')}"
    if name == "did":
        iv = e["interval"] or {}
        return (f"{e.get('design')}: {_chg(st, e['effect'])} [{_chg(st, iv.get('low'))}, {_chg(st, iv.get('high'))}], "
                f"p = {_fmt_p(e['p_value'])}, q = {_fmt_p(e.get('q_value'))}; {e['treated_units']} treated vs "
                f"{e['control_units']} control units, {e['clusters']} clusters")
    if name == "event_study":
        lags = [x for x in e.get("periods", []) if x["k"] >= 0]
        first = f"first period after the change {_chg(st, lags[0]['effect'])}" if lags else "no periods after the change"
        return f"pre-trend p = {_fmt_p(e.get('pretrend_p'))}; {first}"
    if name in ("placebo_time", "placebo_scope"):
        iv = e["interval"] or {}
        what = "dates with no change" if name == "placebo_time" else "slices the change did not reach"
        n = len(e.get("placebo_z", []))
        return (f"real effect {_chg(st, e['effect'])} (z = {e.get('real_z')}); {n} placebos at {what}: effects "
                f"{_chg(st, iv.get('low'))} to {_chg(st, iv.get('high'))}, largest |z| = {e.get('largest_placebo_z')}")
    if name == "placebo_its":
        return (f"jump {_chg(st, e['effect'])} at the change vs {len(e.get('placebo_jumps', []))} placebo days "
                f"({_chg(st, (e['interval'] or {}).get('low'))} to {_chg(st, (e['interval'] or {}).get('high'))})")
    if name == "shap":
        if not e.get("feature"):
            return e.get("reason", "no driver")
        dist = e.get("distribution") or {}
        moved = ""
        if dist:
            if dist.get("level") is not None:
                moved = f"; share of {dist['level']} {dist['share_before']:.0%} → {dist['share_after']:.0%}"
            else:
                moved = f"; mean {dist['before']:.4g} → {dist['after']:.4g}"
        sizing = e.get("sample_sizing") or {}
        sample = (f"; SHAP on {e['rows_before']:,} + {e['rows_after']:,} sampled records, sized for "
                  f"±{sizing['target_half_width']:.0%} of the change" if sizing else "")
        return f"{e['feature']} carries {e['share_of_change']:.0%} of the change{moved}{sample}"
    return json.dumps(e)[:200]


def write_outputs(out_dir: Path, doc: dict, markdown: str) -> tuple[Path, Path]:
    """``out_dir/incidents.json`` and ``out_dir/report.md``, each replaced atomically."""
    out_dir = Path(out_dir)
    incidents, report = out_dir / "incidents.json", out_dir / "report.md"
    write_atomically(incidents, json.dumps(doc, indent=2, allow_nan=False) + "\n")
    write_atomically(report, markdown)
    return incidents, report
