"""Reconciliation outcome: remediation per pattern, impacted customers, reason codes, chart and narrative.

The summary (`ReconciliationSummary`) is the one typed value of a reconciliation run: the CLI writes
it as ``summary.json`` and the API serves the same JSON. The narrative (`render_markdown`,
`render_pdf`) is written from the summary's numbers only, by fixed templates, so the same run always
gives the same text; its narrative paragraphs (the verdict, each pattern's likely cause and remediation)
go through a `data.narrative.Narrator`: the templates' text by default, or an optional language model's
rewording that keeps every number (with a provenance line under the title). Impacted-customer tables and
reason-code counts are SQL over ``pattern_records`` (`detection.mismatch`); the bar chart of mismatches
by reason code is drawn with Pillow.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import duckdb
from pydantic import BaseModel, ConfigDict

from data.messy import Assumption, SideFile
from data.narrative import TEMPLATES, Narrator, Paragraph, with_provenance
from data.sources import sql_literal
from detection.mismatch import LOST, UNEXPECTED, Pattern
from metrics.diff import MISSING, ColumnStats
from rca.reconcile import LikelyCause
from recommendations.render import _md_table, _pdf_text

CHART_TOP = 15


class Finding(BaseModel):
    """A pattern with its likely cause and the remediation proposed."""

    model_config = ConfigDict(frozen=True)

    pattern: Pattern
    cause: LikelyCause
    remediation: str


class RecordCounts(BaseModel):
    model_config = ConfigDict(frozen=True)

    legacy_rows: int
    migrated_rows: int
    matched: int
    identical: int
    with_differences: int
    lost: int
    unexpected: int
    duplicate_keys_legacy: int
    duplicate_keys_migrated: int
    duplicate_rows_legacy: int  # rows set aside: their key repeats on either side
    duplicate_rows_migrated: int
    rows_without_key_legacy: int
    rows_without_key_migrated: int
    impacted_customers: int


class AmountTotals(BaseModel):
    """Totals of one amount column: each side, missing (lost records), unexpected, changed on matched records."""

    model_config = ConfigDict(frozen=True)

    column: str
    legacy_total: float
    migrated_total: float
    missing: float
    unexpected: float
    changed_net: float
    changed_abs: float


class ReasonCount(BaseModel):
    model_config = ConfigDict(frozen=True)

    reason: str
    mismatches: int
    records: int
    customers: int
    amount: float


class ChangeSet(BaseModel):
    """Patterns resolved since the previous run, new in this one, and persisting in both."""

    model_config = ConfigDict(frozen=True)

    resolved: tuple[str, ...]
    new: tuple[str, ...]
    persisting: tuple[str, ...]


class CustomerChanges(BaseModel):
    """How many impacted customers were resolved, are new, or persist (rows in changes_since_previous.csv)."""

    model_config = ConfigDict(frozen=True)

    resolved: int
    new: int
    persisting: int


class PatternChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    pattern: str
    status: Literal["resolved", "new", "persisting"]
    customers: CustomerChanges


class RunComparison(BaseModel):
    """This run against the previous one, per pattern and per customer."""

    model_config = ConfigDict(frozen=True)

    previous: str
    patterns: ChangeSet
    customers: CustomerChanges
    by_pattern: tuple[PatternChange, ...]


class ExportFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    rows: int
    holds: str


class ReconciliationSummary(BaseModel):
    """Everything a reconciliation found; `summary.json` and the API's response."""

    model_config = ConfigDict(frozen=True)

    verdict: Literal["agree", "differ"]
    legacy: SideFile
    migrated: SideFile
    key: tuple[str, ...]
    key_rules: tuple[str, ...]
    customer_column: str | None
    reason_column: str | None
    amount_column: str | None
    compared_columns: tuple[str, ...]
    legacy_only_columns: tuple[str, ...]
    migrated_only_columns: tuple[str, ...]
    memory_limit: str
    counts: RecordCounts
    columns: tuple[ColumnStats, ...]
    amounts: tuple[AmountTotals, ...]
    findings: tuple[Finding, ...]
    reasons: tuple[ReasonCount, ...]
    assumptions: tuple[Assumption, ...]
    exports: tuple[ExportFile, ...]
    previous: RunComparison | None = None
    seconds: float = 0.0


# --------------------------------------------------------------------------- remediation


def remediation(p: Pattern, cause: LikelyCause) -> str:
    """What to do about a pattern, by its kind and classification (deterministic template)."""
    where = ("every affected record" if cause.scope in ("", "*") else f"the segment {cause.scope.replace('&', ' and ')}")
    if p.kind == "lost":
        return (f"Re-extract and load {where} ({p.records:,} records, {p.customers:,} customers); "
                + ("fix the filter that excluded the segment before the next load" if cause.scope
                   else "check the load's reject log for these keys"))
    if p.kind == "unexpected":
        return (f"Confirm the {p.records:,} extra records with the target's owners and remove or re-key them; "
                + ("stop the process that creates them for the segment" if cause.scope else "keep the list for audit"))
    if p.kind == "value" and cause.scope:
        return (f"Correct the mapping rule that turns {p.legacy_value!r} into {p.migrated_value!r} for {where}, "
                f"then re-run it for the {p.records:,} records affected")
    if p.kind in ("numeric", "date") and cause.scope:
        return f"Correct the conversion of {p.column} for {where} and recompute the {p.records:,} records affected"
    return (f"Review the {p.records:,} record(s) one by one with the export of this pattern; correct them in the "
            f"target or confirm the change with the business")


# --------------------------------------------------------------------------- impact tables


def reason_counts(con: duckdb.DuckDBPyConnection) -> list[ReasonCount]:
    """Mismatches, records, customers and amount per reason code (the reason column, else the pattern)."""
    rows = con.execute(
        "SELECT coalesce(__reason, label) AS reason, count(*), count(DISTINCT __key), count(DISTINCT __customer), "
        "sum(amount) FROM pattern_records GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
    return [ReasonCount(reason=r, mismatches=m, records=k, customers=c, amount=float(a or 0.0)) for r, m, k, c, a in rows]


def impacted_customers_sql() -> tuple[str, str]:
    """SQL of ``impacted_customers.csv`` and ``impacted_customers_by_pattern.csv``."""
    lost, unexp = sql_literal(LOST), sql_literal(UNEXPECTED)
    overall = (
        "SELECT __customer AS customer, count(DISTINCT __key) AS records, count(*) AS mismatches, "
        "string_agg(DISTINCT label, '; ' ORDER BY label) AS patterns, "
        f"coalesce(sum(amount) FILTER (WHERE label = {lost}), 0) AS amount_missing, "
        f"coalesce(sum(amount) FILTER (WHERE label = {unexp}), 0) AS amount_unexpected, "
        f"coalesce(sum(amount) FILTER (WHERE label NOT IN ({lost}, {unexp})), 0) AS amount_changed "
        "FROM pattern_records GROUP BY 1 ORDER BY 1")
    by_pattern = ("SELECT label AS pattern, __customer AS customer, count(DISTINCT __key) AS records, "
                  "count(*) AS mismatches, sum(amount) AS amount FROM pattern_records GROUP BY 1, 2 ORDER BY 1, 2")
    return overall, by_pattern


def draw_reason_chart(reasons: list[ReasonCount] | tuple[ReasonCount, ...], path: Path) -> None:
    """A horizontal bar chart (PNG) of mismatches by reason code, the largest first (at most 15 bars)."""
    from PIL import Image, ImageDraw, ImageFont

    shown = list(reasons)[:CHART_TOP]
    font = ImageFont.load_default(size=14)
    label_w = max([int(font.getlength(_short(r.reason))) for r in shown] + [80]) + 20
    bar_h, gap, top, width = 22, 8, 44, 1000
    height = top + max(len(shown), 1) * (bar_h + gap) + 20
    img = Image.new("RGB", (label_w + width // 2 + 120, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((10, 10), "Mismatches by reason code", fill="black", font=ImageFont.load_default(size=18))
    biggest = max([r.mismatches for r in shown] + [1])
    span = width // 2
    for i, r in enumerate(shown):
        y = top + i * (bar_h + gap)
        draw.text((10, y + 3), _short(r.reason), fill="black", font=font)
        length = max(1, round(span * r.mismatches / biggest))
        draw.rectangle((label_w, y, label_w + length, y + bar_h), fill=(59, 110, 165))
        draw.text((label_w + length + 6, y + 3), f"{r.mismatches:,}", fill="black", font=font)
    if not shown:
        draw.text((10, top), "no mismatches", fill="black", font=font)
    img.save(path, format="PNG")


def _short(text: str, limit: int = 60) -> str:
    """A chart label: at most ``limit`` characters, in glyphs Pillow's built-in font has."""
    text = text.replace("→", "->").replace(MISSING, "(none)")
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- narrative


def _money(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.2f}"


def _verdict_line(s: ReconciliationSummary) -> str:
    c = s.counts
    if s.verdict == "agree":
        return (f"The two sides agree: {c.matched:,} records matched on {', '.join(s.key)} and every compared "
                f"column is equal within its tolerance.")
    return (f"The two sides differ: of {c.legacy_rows:,} legacy records, {c.lost:,} are missing from the migrated "
            f"data and {c.with_differences:,} of the {c.matched:,} matched records differ in at least one column; "
            f"the migrated data holds {c.unexpected:,} unexpected records. {c.impacted_customers:,} customers "
            f"are impacted.")


def render_markdown(s: ReconciliationSummary, narrate: Narrator = TEMPLATES) -> str:
    """The narrative report: verdict, counts, amounts, each pattern's cause and remediation, columns, reasons;
    the narrative paragraphs as ``narrate`` words them."""
    return with_provenance(_report_lines(s, narrate), narrate)


def _report_lines(s: ReconciliationSummary, narrate: Narrator) -> list[str]:
    c = s.counts
    lines = [f"# Migration reconciliation: {Path(s.legacy.path).name} vs {Path(s.migrated.path).name}", "",
             narrate(Paragraph.of("the verdict", _verdict_line(s))), ""]
    lines += ["## Records", "", _md_table([
        ("", "count"), ("legacy records", f"{c.legacy_rows:,}"), ("migrated records", f"{c.migrated_rows:,}"),
        ("matched on the key", f"{c.matched:,}"), ("identical", f"{c.identical:,}"),
        ("matched with differences", f"{c.with_differences:,}"), ("lost (legacy only)", f"{c.lost:,}"),
        ("unexpected (migrated only)", f"{c.unexpected:,}"),
        ("duplicate keys (legacy / migrated)", f"{c.duplicate_keys_legacy:,} / {c.duplicate_keys_migrated:,}"),
        ("rows set aside for duplicate keys (legacy / migrated)",
         f"{c.duplicate_rows_legacy:,} / {c.duplicate_rows_migrated:,}"),
        ("rows without a key (legacy / migrated)", f"{c.rows_without_key_legacy:,} / {c.rows_without_key_migrated:,}"),
        ("impacted customers", f"{c.impacted_customers:,}")]), ""]
    if s.amounts:
        lines += ["## Amounts", "", _md_table([("column", "legacy total", "migrated total", "missing (lost)",
                                                "unexpected", "changed (net)", "changed (absolute)")] + [
            (a.column, _money(a.legacy_total), _money(a.migrated_total), _money(a.missing), _money(a.unexpected),
             _money(a.changed_net), _money(a.changed_abs)) for a in s.amounts]), ""]
    if s.findings:
        lines += ["## Patterns", "", _md_table([("pattern", "records", "customers", "amount", "kind", "where")] + [
            (f.pattern.label, f"{f.pattern.records:,}", f"{f.pattern.customers:,}", _money(f.pattern.amount),
             f.pattern.classification, f.cause.scope or "scattered") for f in s.findings]), ""]
        lines += ["## Root cause and remediation", ""]
        for i, f in enumerate(s.findings, 1):
            p = f.pattern
            lines += [f"### {i}. {p.label}", "",
                      f"- **{p.classification.capitalize()}**: {p.evidence}.",
                      f"- **Likely cause** ({f.cause.cause}): "
                      + narrate(Paragraph.of(f"pattern {i}'s likely cause", f"{f.cause.explanation}.")),
                      "- **Remediation**: " + narrate(Paragraph.of(f"pattern {i}'s remediation", f"{f.remediation}.")),
                      f"- **Impact**: {p.records:,} records, {p.customers:,} customers, {p.mismatches:,} "
                      f"mismatches, amount {_money(p.amount)}.", ""]
    if s.columns:
        lines += ["## Columns", "", _md_table([("column", "kind", "tolerance", "differ", "match rate",
                                                "missing in legacy only", "missing in migrated only",
                                                "max abs difference", "total abs difference")] + [
            (k.column, k.kind, f"{k.tolerance:g}", f"{k.differ:,}", f"{k.match_rate:.4%}", f"{k.null_legacy_only:,}",
             f"{k.null_migrated_only:,}", _money(k.max_abs_difference), _money(k.total_abs_difference))
            for k in s.columns]), ""]
    if s.reasons:
        lines += ["## Reason codes", "", "![Mismatches by reason code](mismatches_by_reason.png)", "",
                  _md_table([("reason code", "mismatches", "records", "customers", "amount")] + [
                      (r.reason, f"{r.mismatches:,}", f"{r.records:,}", f"{r.customers:,}", _money(r.amount))
                      for r in s.reasons]), ""]
    if s.previous is not None:
        pv = s.previous
        lines += ["## Compared with the previous run", "", f"Previous run: `{pv.previous}`.", "", _md_table([
            ("", "resolved", "new", "persisting"),
            ("patterns", f"{len(pv.patterns.resolved):,}", f"{len(pv.patterns.new):,}", f"{len(pv.patterns.persisting):,}"),
            ("impacted customers", f"{pv.customers.resolved:,}", f"{pv.customers.new:,}",
             f"{pv.customers.persisting:,}")]), ""]
        lines += [_md_table([("pattern", "status", "customers resolved", "customers new", "customers persisting")] + [
            (c.pattern, c.status, f"{c.customers.resolved:,}", f"{c.customers.new:,}", f"{c.customers.persisting:,}")
            for c in pv.by_pattern]), ""]
    lines += ["## Assumptions", "", *[f"- {a.file}{' · ' + a.column if a.column else ''}: {a.text}"
                                      for a in s.assumptions], ""]
    lines += ["## Exports", "", _md_table([("file", "rows", "holds")] + [(e.name, f"{e.rows:,}", e.holds)
                                                                     for e in s.exports]), ""]
    return lines


def render_pdf(markdown: str, chart: Path | None, path: Path) -> None:
    """The Markdown report as PDF (headings, bullets, tables, the chart) with reportlab platypus."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    body, small = styles["BodyText"], styles["BodyText"].clone("small", fontSize=7, leading=9)
    width = A4[0] - 30 * mm
    story: list = []
    table_rows: list[list[str]] = []

    def flush_table() -> None:
        if not table_rows:
            return
        cells = [[Paragraph(_pdf_text(x.replace(MISSING, "(none)")), small) for x in r] for r in table_rows]
        t = Table(cells, colWidths=[width / len(table_rows[0])] * len(table_rows[0]), repeatRows=1)
        t.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
                               ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(t)
        table_rows.clear()

    def inline(text: str) -> str:
        return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", _pdf_text(text.replace("`", "").replace(MISSING, "(none)")))

    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [x.strip().replace("\\|", "|") for x in line.strip().strip("|").split(" | ")]
            if not all(set(x) <= {"-", " "} for x in cells):
                table_rows.append(cells)
            continue
        flush_table()
        if not line.strip():
            story.append(Spacer(1, 2 * mm))
        elif line.startswith("!["):
            if chart is not None and chart.exists():
                from PIL import Image as PILImage

                w, h = PILImage.open(chart).size
                story.append(Image(str(chart), width=width, height=width * h / w))
        elif line.startswith("### "):
            story.append(Paragraph(inline(line[4:]), styles["Heading3"]))
        elif line.startswith("## "):
            story.append(Paragraph(inline(line[3:]), styles["Heading2"]))
        elif line.startswith("# "):
            story.append(Paragraph(inline(line[2:]), styles["Heading1"]))
        elif line.startswith("- "):
            story.append(Paragraph(inline(line[2:]), body, bulletText="•"))
        else:
            story.append(Paragraph(inline(line), body))
    flush_table()
    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title="Migration reconciliation", author="CX Workbench",
                            invariant=1)
    doc.build(story)
