"""Experiment plans as documents: Markdown from the plan's own fields, and a PDF of that Markdown.

The plan is whatever the recommendations stage put in the incident's ``experiment_plan``; known keys
(hypothesis, randomization unit, metrics, guardrails, power, duration, rollout checklist) get their own
sections and any other key is listed under "Other details", so nothing the stage computed is dropped.
"""

from __future__ import annotations

import io
from typing import Any

KNOWN = [
    ("title", None), ("hypothesis", "Hypothesis"), ("treatment", "Treatment"), ("control", "Control"),
    ("randomization_unit", "Randomization unit"), ("primary_metric", "Primary metric"),
    ("secondary_metrics", "Secondary metrics"), ("guardrails", "Guardrails"),
    ("minimum_detectable_effect", "Minimum detectable effect"), ("power", "Power"), ("alpha", "Significance level"),
    ("sample_size", "Sample size"), ("duration_days", "Duration (days)"), ("duration", "Duration"),
    ("rollout", "Rollout"), ("rollout_checklist", "Rollout checklist"), ("stop_conditions", "Stop conditions"),
]


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _block(value: Any) -> list[str]:
    if isinstance(value, list):
        return [f"- {_inline(v)}" for v in value]
    if isinstance(value, dict):
        return [f"- **{k}**: {_inline(v)}" for k, v in value.items()]
    return [_text(value)]


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_inline(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_inline(v) for v in value)
    return _text(value)


def render_markdown(incident: dict) -> str:
    """The incident's experiment plan as Markdown (``incident`` is the detail dict)."""
    plan: dict = incident.get("experiment_plan") or {}
    title = plan.get("title") or f"Experiment plan: {incident['metric']} {incident['direction']} in {incident['slice']}"
    lines = [f"# {title}", "",
             f"Incident {incident['id']}: **{incident['metric']}** went {incident['direction']} in "
             f"`{incident['slice']}` from {incident['start']} to {incident['end']} "
             f"(baseline {_inline(incident.get('baseline'))}, current {_inline(incident.get('current'))}).", ""]
    causes = incident.get("causes") or []
    if causes:
        top = causes[0]
        top = top if isinstance(top, dict) else top.model_dump()
        confidence = top.get("confidence")
        lines += [f"Most likely cause: {top.get('change_event') or top.get('feature') or top.get('hypothesis')}"
                  + (f" (confidence {confidence:.0%})." if isinstance(confidence, (int, float)) else "."), ""]
    shown = set()
    for key, heading in KNOWN:
        shown.add(key)
        if heading is None or plan.get(key) in (None, "", [], {}):
            continue
        lines += [f"## {heading}", "", *_block(plan[key]), ""]
    rest = {k: v for k, v in plan.items() if k not in shown}
    if rest:
        lines += ["## Other details", "", *_block(rest), ""]
    return "\n".join(lines).rstrip() + "\n"


def render_pdf(markdown: str) -> bytes:
    """A simple PDF of the Markdown (headings, bullets, paragraphs) with reportlab."""
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    story = []
    for line in markdown.splitlines():
        if not line.strip():
            story.append(Spacer(1, 6))
            continue
        text = escape(line.lstrip("#- ").replace("**", "").replace("`", ""))
        if line.startswith("# "):
            story.append(Paragraph(text, styles["Title"]))
        elif line.startswith("## "):
            story.append(Paragraph(text, styles["Heading2"]))
        elif line.startswith("- "):
            story.append(Paragraph(text, styles["Normal"], bulletText="•"))
        else:
            story.append(Paragraph(text, styles["Normal"]))
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title="Experiment plan", author="CX Workbench").build(story)
    return buffer.getvalue()


def stage_plan(incident: dict):
    """The recommendations stage's `ExperimentPlan` for this incident, or None (stage absent, other format)."""
    try:
        from recommendations.incidents_io import plan_of
    except ImportError:
        return None
    from data.errors import UserError

    try:
        return plan_of({"id": incident.get("external_id") or incident["id"],
                        "experiment_plan": incident.get("experiment_plan")})
    except UserError:
        return None


def plan_markdown(incident: dict) -> str:
    """The plan as Markdown: the recommendations stage's rendering when it can read the plan, else ours."""
    plan = stage_plan(incident)
    if plan is not None:
        from recommendations import render_plan_markdown

        return render_plan_markdown(plan)
    return render_markdown(incident)


def plan_pdf(incident: dict) -> bytes:
    """The plan as PDF: the recommendations stage's (with its tables) when it can read the plan, else ours."""
    plan = stage_plan(incident)
    if plan is None:
        return render_pdf(render_markdown(incident))
    import tempfile
    from pathlib import Path

    from recommendations import render_plan_pdf

    with tempfile.TemporaryDirectory() as folder:
        return render_plan_pdf(plan, Path(folder) / "plan.pdf").read_bytes()
