"""The signal report as Markdown: what `cxw signals analyze --markdown FILE` writes beside the JSON report.

It is written from a `SignalReport`'s numbers only, by fixed templates: an overview paragraph, one
paragraph per raised pattern (its signals and merchants, its rate in the window against the baseline, its
association with a migration stage, its likely cause) with the proposed actions, and a table of every
pattern. The paragraphs go through a `data.narrative.Narrator` (the templates' text by default; an optional
language model's rewording that keeps every number, with a provenance line under the title). A paragraph
holds computed values and the hypothesis library's description of the cause — never a signal's text, a
pattern's mined template or a merchant id.
"""

from __future__ import annotations

from backend.signals_analysis import SignalPattern, SignalReport
from data.narrative import TEMPLATES, Narrator, Paragraph, with_provenance
from recommendations.render import _md_table

STAGE_WORDS = {"in_progress": "while migrating", "post_recent": "just after their migration",
               "post": "after their migration"}
TIME = "%Y-%m-%d %H:%M"


def _q(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2g}"


def overview(report: SignalReport) -> str:
    hours = round((report.end - report.baseline_end).total_seconds() / 3600)
    return (f"{report.signals:,} signals from {report.merchants:,} merchants ({report.migrated:,} of them migrating) "
            f"between {report.start:{TIME}} and {report.end:{TIME}} UTC fall into {len(report.patterns):,} patterns. "
            f"The last {hours:,} hours, from {report.baseline_end:{TIME}}, were tested against the hours before: "
            f"{report.raised:,} pattern(s) rose.")


def pattern_story(p: SignalPattern, merchants: int) -> str:
    """A raised pattern in words: volume, rise, stage association, likely cause."""
    s = p.spike
    start = f", from {s.start:{TIME}}" if s.start is not None else ""
    out = [f"{p.signals:,} signals from {p.merchants_affected:,} of the {merchants:,} merchants "
           f"({p.merchant_share:.0%}). In the window they came at {s.window_per_hour:.2f} an hour against "
           f"{s.baseline_per_hour:.2f} before (q = {_q(s.q_value)}){start}."]
    if p.stage is not None and p.stage.strongest is not None:
        c = next(c for c in p.stage.comparisons if c.stage == p.stage.strongest)
        words = STAGE_WORDS.get(c.stage, c.stage)
        if c.unbounded or c.ratio is None:
            out.append(f"They concentrate on merchants {words}: {c.signals:,} signals there and none from merchants "
                       f"not yet migrated (q = {_q(c.q_value)}).")
        else:
            span = (f", 95% interval {c.ratio_low:.1f} to {c.ratio_high:.1f}"
                    if c.ratio_low is not None and c.ratio_high is not None else "")
            out.append(f"Merchants {words} show them {c.ratio:.1f} times as often as merchants not yet migrated "
                       f"({c.signals:,} signals{span}, q = {_q(c.q_value)}).")
    elif p.stage is not None:
        out.append("No migration stage stands out: merchants at every stage show them alike.")
    if p.hypotheses:
        top = p.hypotheses[0]
        if top.id == "unknown":
            out.append(f"No cause of the library explains them ({top.confidence:.0%} for an unknown cause).")
        else:
            out.append(f"The likely cause is {top.id} ({top.confidence:.0%}): {top.description.strip()}")
    return " ".join(out)


def _proposal_lines(p: SignalPattern) -> list[str]:
    lines = []
    for a in p.proposals:
        gate = f"needs an approval ({'; '.join(a.reasons)})" if a.needs_approval else "may run alone"
        lines.append(f"- **{a.action}** through {a.tool}: risk {a.risk:.2f}, {gate}.")
    return lines


def render_signal_markdown(report: SignalReport, narrate: Narrator = TEMPLATES) -> str:
    """The report (see the module docstring); the paragraphs as ``narrate`` words them."""
    lines = [f"# Operational signals: {report.start:{TIME}} – {report.end:{TIME}} UTC", "",
             narrate(Paragraph.of("the overview", overview(report))), ""]
    raised = [p for p in report.patterns if p.spike.raised]
    if raised:
        lines += ["## Raised patterns", ""]
    for n, p in enumerate(raised, 1):
        lines += [f"### {n}. {p.label} (severity {p.severity})", "",
                  narrate(Paragraph.of(f"raised pattern {n}", pattern_story(p, report.merchants))), ""]
        proposals = _proposal_lines(p)
        if proposals:
            lines += ["Proposed actions:", "", *proposals, ""]
    lines += ["## Patterns", "", _md_table([("pattern", "type", "signals", "merchants", "per hour: before → window",
                                            "q", "raised", "likely cause")] + [
        (p.label, p.signal_type, f"{p.signals:,}", f"{p.merchants_affected:,}",
         f"{p.spike.baseline_per_hour:.2f} → {p.spike.window_per_hour:.2f}", _q(p.spike.q_value),
         "yes" if p.spike.raised else "no",
         f"{p.hypotheses[0].id} ({p.hypotheses[0].confidence:.0%})" if p.hypotheses else "not assessed")
        for p in report.patterns]), ""]
    return with_provenance(lines, narrate)


__all__ = ["render_signal_markdown"]
