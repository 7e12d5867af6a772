"""Reports: the PM summary, Markdown for ``report.md``, and the experiment plan as Markdown and PDF.

Every sentence is a fixed template filled with numbers the engine computed. The PM summary uses no
statistics vocabulary ("likely range", not "confidence interval"); the detailed sections below it name
the methods for analysts. In ``report.md`` the PM summary is a narrative paragraph: it goes through the
report's `data.narrative.Narrator` (the template's text by default).
"""

from __future__ import annotations

from pathlib import Path

from data.atomic import temp_path
from data.narrative import TEMPLATES, Narrator, Paragraph
from data.workspace import Workspace
from rca.types import Incident
from recommendations import text
from recommendations.tradeoffs import VERDICT_WORDS
from recommendations.types import ExperimentPlan, MetricImpact, Recommendation, RecommendationSet

PM_HEADER = ("Metric", "Now", "Expected change", "Likely range", "Per day", "Effect")
METHOD_WORDS = {"evidence": "DiD (RCA evidence)", "did": "DiD (daily gaps)", "model": "outcome model", "none": "—"}


def _effect_word(mi: MetricImpact) -> str:
    return {True: "better", False: "worse", None: "no clear change"}[mi.improves] if text.finite(mi.change) \
        else "not estimated"


def impact_rows(rec: Recommendation) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for mi in rec.impact.metrics:
        rows.append((text.label(mi.metric), text.value(mi, mi.baseline), text.change(mi, mi.change),
                     text.span(mi, mi.interval.low, mi.interval.high),
                     text.per_day(mi, mi.per_day) if mi.type != "composite" else "—", _effect_word(mi)))
    return rows


def pm_summary(ws: Workspace, incident: Incident, recs: tuple[Recommendation, ...], plan: ExperimentPlan | None,
               currency: str = "$") -> tuple[str, tuple[tuple[str, ...], ...]]:
    """A short paragraph and a table for a product manager (header row first)."""
    reg = incident.regression
    try:
        st = text.style(ws, ws.metric(reg.metric))
    except KeyError:
        st = text.Style("mean", "")
    moved = "fell" if reg.direction == "down" else "rose"
    m = incident.measured  # before → after in the incident's own scope, from its onset (`rca.scoped`)
    if m is not None:
        where = "" if not any(s.filters for s in m.scope) else f" in {text.scope_words(m.scope)}"
        first = (f"{text.label(reg.metric).capitalize()} {moved} from {text.value(st, m.before)} to "
                 f"{text.value(st, m.after)}{where} starting {m.onset:%b %d %H:%M}")
    else:
        where = "" if not reg.slice.filters else f" in {text.scope_words((reg.slice,))}"
        first = (f"{text.label(reg.metric).capitalize()} {moved} from {text.value(st, reg.baseline)} to "
                 f"{text.value(st, reg.current)}{where} starting {reg.start:%b %d %H:%M}")
    others = [s.regression.metric for s in incident.symptoms]
    if others:
        first += f" (the same cause moved {', '.join(text.label(o) for o in others)} too)"
    if not recs:
        change = "drop" if reg.direction == "down" else "rise"
        para = (f"{first}. We could not pin the {change} on one cause with enough certainty, so we are not "
                "recommending a change yet; the next step is a closer look at the affected slices.")
        return para, (PM_HEADER,)
    top = recs[0]
    cause_bit = f', right after the change "{top.change_event}"' if top.change_event else ""
    p = top.impact.metric(top.tradeoff.primary_metric)
    lead = "We recommend" if top.tradeoff.verdict.startswith("recommended") else \
        "We would test" if top.tradeoff.verdict == "test_first" else "The best candidate we found"
    sentences = [first + cause_bit + ".", f"{lead}: {top.title}."]
    if text.finite(p.change):
        daily = ""
        if p.type == "rate" and text.finite(p.per_day):
            daily = f", about {abs(p.per_day):,.0f} orders a day moving the right way"
        direction = "up" if p.change > 0 else "down"
        sentences.append(f"It should move {text.label(p.metric)} {direction} by about {text.amount(p, p.change)} "
                         f"(likely {text.span(p, p.interval.low, p.interval.high)}) in "
                         f"{text.scope_words(top.scope)}{daily}.")
    costs = []
    for c in top.tradeoff.costs:
        if c.kind == "efficiency":
            ci = top.impact.metric(c.name)
            part = f"{text.change(ci, c.per_order)} {text.label(c.name)} ({text.per_day(ci, c.per_day)}"
            part += f", about {text.money(c.money_per_day, currency)} a day)" if c.money_per_day is not None else ")"
            costs.append(part)
        elif c.money_per_day is not None:
            costs.append(f"{text.money(c.money_per_day, currency)} a day of {text.label(c.name)}")
        else:
            costs.append(f"{text.label(c.name)} (not priced yet)")
    if costs:
        sentences.append("The price: " + "; ".join(costs) + f". In short: {top.tradeoff.exchange_rate}.")
    elif text.finite(p.change):
        sentences.append("We see no efficiency cost.")
    if top.tradeoff.cx_harms:
        sentences.append("Watch out: it may worsen " + ", ".join(text.label(h) for h in top.tradeoff.cx_harms) + ".")
    sentences.append(f"Our call: {VERDICT_WORDS[top.tradeoff.verdict].lower()}.")
    if plan is not None:
        how = _unit_words(plan)
        watch = ", ".join(text.label(g.metric) for g in plan.guardrails[:3])
        stop = f", and stop early if {watch} get worse" if watch else ""
        sentences.append(f"To prove it, we run a {plan.planned_days}-day test in {text.scope_words(plan.scope)} by "
                         f"{how}, judge it on {text.label(plan.primary_metric)} at the end{stop}.")
    table = (PM_HEADER, *impact_rows(top))
    return " ".join(sentences), table


def _unit_words(plan: ExperimentPlan) -> str:
    if plan.unit == "switchback":
        label = plan.unit_label.split(" switchback")[0]
        market, _, block = label.partition(" × ")
        if not block:
            market, block = "the whole marketplace", label
        hours = block.split("-hour")[0]
        every = "every hour" if hours == "1" else f"every {hours} hours"
        where = "the whole marketplace" if market == "the whole marketplace" else f"each {market}"
        return f"switching {where} between the old and new setting {every}"
    return {"order": "splitting orders at random", "customer": "splitting customers at random",
            "store": "splitting stores at random", "region": "splitting regions at random"}.get(plan.unit, plan.unit)


# ---------------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------------


def _md_table(rows) -> str:
    rows = [tuple(str(c).replace("|", "\\|") for c in r) for r in rows]
    head, body = rows[0], rows[1:]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def _estimate_text(mi: MetricImpact, method: str) -> str:
    for e in mi.estimates:
        if e.method == method:
            return f"{text.change(mi, e.value)} [{text.span(mi, e.interval.low, e.interval.high)}]"
    return "—"


def render_recommendation(rec: Recommendation, currency: str = "$") -> str:
    imp = rec.impact
    cause = rec.cause + (f", event {rec.change_event}" if rec.change_event else "") + \
        (f", driver {rec.feature}" if rec.feature else "")
    lines = [f"### {rec.rank}. {rec.title} — {VERDICT_WORDS[rec.tradeoff.verdict]}", "",
             f"- **Cause:** {cause} (confidence {100 * rec.confidence:.0f}%)",
             f"- **Scope:** {text.scope_words(rec.scope)} — {imp.orders_per_day:,.0f} orders/day "
             f"({100 * imp.scope_share:.1f}% of all orders)" if text.finite(imp.scope_share) else
             f"- **Scope:** {text.scope_words(rec.scope)}",
             f"- **Counterfactual:** {imp.counterfactual}; evaluated "
             f"{imp.window_start:%Y-%m-%d %H:%M} – {imp.window_end:%Y-%m-%d %H:%M}",
             f"- **Tradeoff:** {rec.tradeoff.summary}",
             f"- **Action:** {rec.action.id} ({rec.action.effort} effort). {rec.action.description}".rstrip(), ""]
    rows = [("Metric", "Now", "Expected change", "95% interval", "Per day", "Method", "DiD", "Outcome model")]
    for mi in imp.metrics:
        rows.append((mi.metric, text.value(mi, mi.baseline), text.change(mi, mi.change),
                     text.span(mi, mi.interval.low, mi.interval.high),
                     text.per_day(mi, mi.per_day) if mi.type != "composite" else "—",
                     METHOD_WORDS.get(mi.method, mi.method),
                     _estimate_text(mi, "evidence") if any(e.method == "evidence" for e in mi.estimates)
                     else _estimate_text(mi, "did"), _estimate_text(mi, "model")))
    lines.append(_md_table(rows))
    if imp.notes:
        lines += ["", *[f"> {n}" for n in imp.notes]]
    return "\n".join(lines)


def render_markdown(recset: RecommendationSet, heading_level: int = 2, currency: str = "$",
                    narrate: Narrator = TEMPLATES) -> str:
    """The recommendations and the experiment plan of one incident, for ``report.md`` (the PM summary as
    ``narrate`` words it)."""
    h = "#" * heading_level
    summary = narrate(Paragraph.of(f"incident {recset.incident_id}: the PM summary", recset.pm_summary))
    out = [f"{h} Recommendations", "", summary, ""]
    if len(recset.pm_table) > 1:
        out += [_md_table(recset.pm_table), ""]
    for note in recset.notes:
        out.append(f"> {note}")
    if recset.next_steps:
        out += ["", f"{h}# Next steps (inconclusive cause: no action recommended, no impact estimated)", ""]
        out += [f"{i}. **Check:** {s.check}  \n   **What would decide it:** {s.decides}"
                for i, s in enumerate(recset.next_steps, 1)]
        out.append("")
    if recset.recommendations:
        out += [f"{h}# Actions", ""]
        for rec in recset.recommendations:
            out += [render_recommendation(rec, currency).replace("### ", "#" * (heading_level + 2) + " ", 1), ""]
    if recset.experiment_plan is not None:
        out += [render_plan_markdown(recset.experiment_plan, heading_level=heading_level)]
    return "\n".join(out).rstrip() + "\n"


def _plan_rows(plan: ExperimentPlan) -> list[tuple[str, str]]:
    st = text.Style(plan.metric_type, plan.unit_of_metric)
    clusters = f" ({plan.clusters_per_arm:,} units)" if plan.clusters_per_arm else ""
    planned_units = f" ({plan.planned_units_per_arm:,} units)" if plan.planned_units_per_arm else ""
    return [
        ("Primary metric", f"{plan.primary_metric} (now {text.value(st, plan.baseline)})"),
        ("Expected change", f"{text.change(st, plan.expected_change)} "
                            f"(95% interval {text.span(st, plan.expected_interval.low, plan.expected_interval.high)})"),
        ("Minimum detectable effect", f"{text.amount(st, plan.mde)}: {plan.mde_basis}"),
        ("Randomization unit", f"{plan.unit_label}: {plan.unit_reason}"),
        ("Clustering", f"ICC {plan.icc:.4f} over {plan.cluster_size:,.1f} orders per unit; design effect "
                       f"1 + (m - 1) x ICC = {plan.design_effect:.2f}" if plan.unit != "order"
         else "none (orders are the unit)"),
        ("Sample size", f"{plan.n_per_arm:,} orders per arm needed{clusters}; {plan.n_per_arm_unclustered:,} before "
                        f"the design effect (effect size {plan.effect_size:.3f}, alpha {plan.alpha:g}, "
                        f"power {100 * plan.power:.0f}%). The planned test collects about "
                        f"{plan.planned_orders_per_arm:,} per arm{planned_units}."),
        ("Eligible traffic", f"{plan.eligible_orders_per_day:,.0f} orders/day in scope, "
                             f"{100 * plan.traffic_share:.0f}% in the test"),
        ("Duration", f"{plan.days_needed} day(s) of data needed + {sum(r.days for r in plan.ramp)} ramp day(s) "
                     f"-> {plan.planned_days} days planned (whole weeks)"),
    ]


def _guardrail_rows(plan: ExperimentPlan) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [("Guardrail", "Now", "Expected", "Stop if worse by", "Why")]
    for g in plan.guardrails:
        rows.append((g.metric, text.value(g, g.baseline), text.change(g, g.expected), text.amount(g, g.margin),
                     g.reason))
    return rows


def _ramp_rows(plan: ExperimentPlan) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [("Step", "Treated share", "Days", "Go on when")]
    for i, r in enumerate(plan.ramp, 1):
        rows.append((str(i), f"{100 * r.share:.0f}%", str(r.days) if r.days else "rest", r.gate))
    return rows


def render_plan_markdown(plan: ExperimentPlan, heading_level: int = 1) -> str:
    """The experiment plan as Markdown (design, guardrails, ramp, checklist, rollout, stop criteria)."""
    h = "#" * heading_level
    out = [f"{h} Experiment plan: {plan.title}", "",
           f"Incident `{plan.incident_id}` · action `{plan.action_id}` · scope `{';'.join(s.key for s in plan.scope) or '*'}`",
           "", f"**Hypothesis.** {plan.hypothesis}", "", f"{h}# Design", "",
           _md_table([("Item", "Value"), *_plan_rows(plan)]), "", f"{h}# Guardrails", "",
           _md_table(_guardrail_rows(plan)), "", f"{h}# Ramp", "", _md_table(_ramp_rows(plan)), "",
           f"{h}# Launch checklist", ""]
    out += [f"{i}. {item}" for i, item in enumerate(plan.checklist, 1)]
    out += ["", f"{h}# Rollout", ""] + [f"{i}. {item}" for i, item in enumerate(plan.rollout, 1)]
    out += ["", f"{h}# Stop criteria", ""] + [f"- {item}" for item in plan.stop_criteria]
    if plan.notes:
        out += ["", f"{h}# Notes", ""] + [f"- {n}" for n in plan.notes]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------------------------------

_PDF_REPLACE = {"−": "-", "—": "-", "–": "-", "→": "->", "≈": "~", "α": "alpha", "×": "x", "·": "-", "≥": ">=",
                "≤": "<=", "₀": "0", "ⱼ": "j", "²": "^2", "σ": "sigma", "Δ": "delta"}


def _pdf_text(s: str) -> str:
    """Latin-1 only (the built-in PDF fonts), XML-escaped for reportlab paragraphs."""
    for a, b in _PDF_REPLACE.items():
        s = s.replace(a, b)
    s = s.encode("latin-1", "replace").decode("latin-1")
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_plan_pdf(plan: ExperimentPlan, path: str | Path) -> Path:
    """Write the plan as a PDF with its tables (reportlab platypus); returns the path."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    path = Path(path)
    styles = getSampleStyleSheet()
    body, small = styles["BodyText"], styles["BodyText"].clone("small", fontSize=8, leading=10)
    h1, h2 = styles["Heading1"], styles["Heading2"]
    width = A4[0] - 36 * mm

    def table(rows, widths) -> Table:
        cells = [[Paragraph(_pdf_text(str(c)), small) for c in r] for r in rows]
        t = Table(cells, colWidths=[w * width for w in widths], repeatRows=1)
        t.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
                               ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return t

    def items(lines, numbered=True) -> ListFlowable:
        return ListFlowable([ListItem(Paragraph(_pdf_text(x), body)) for x in lines],
                            bulletType="1" if numbered else "bullet", leftIndent=12)

    story = [Paragraph(_pdf_text(f"Experiment plan: {plan.title}"), h1),
             Paragraph(_pdf_text(f"Incident {plan.incident_id} - action {plan.action_id} - scope "
                                 f"{';'.join(s.key for s in plan.scope) or '*'}"), small), Spacer(1, 4 * mm),
             Paragraph("<b>Hypothesis.</b> " + _pdf_text(plan.hypothesis), body), Spacer(1, 3 * mm),
             Paragraph("Design", h2), table([("Item", "Value"), *_plan_rows(plan)], (0.25, 0.75)),
             Paragraph("Guardrails", h2), table(_guardrail_rows(plan), (0.27, 0.09, 0.11, 0.13, 0.40)),
             Paragraph("Ramp", h2), table(_ramp_rows(plan), (0.08, 0.14, 0.1, 0.68)),
             Paragraph("Launch checklist", h2), items(plan.checklist),
             Paragraph("Rollout", h2), items(plan.rollout),
             Paragraph("Stop criteria", h2), items(plan.stop_criteria, numbered=False)]
    if plan.notes:
        story += [Paragraph("Notes", h2), items(plan.notes, numbered=False)]
    tmp = temp_path(path)
    doc = SimpleDocTemplate(str(tmp), pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=_pdf_text(f"Experiment plan: {plan.title}"),
                            author="CX Workbench")
    try:
        doc.build(story)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def render_whatif(result) -> str:
    """A what-if result as a plain-text table for the terminal."""
    imp = result.impact
    lines = [f"What if {', '.join(result.changes)} in {text.scope_words(imp.scope)} "
             f"({imp.orders_per_day:,.0f} orders/day, window {imp.window_start:%Y-%m-%d} – {imp.window_end:%Y-%m-%d}; "
             f"{result.model} model on {result.sample:,} orders, {result.bootstrap} bootstrap refits)"]
    rows = [("metric", "now", "change", "95% interval", "per day", "effect")]
    for mi in imp.metrics:
        rows.append((mi.metric, text.value(mi, mi.baseline), text.change(mi, mi.change),
                     text.span(mi, mi.interval.low, mi.interval.high),
                     text.per_day(mi, mi.per_day) if mi.type != "composite" else "—", _effect_word(mi)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


__all__ = ["pm_summary", "render_markdown", "render_plan_markdown", "render_plan_pdf", "render_whatif",
           "impact_rows"]
