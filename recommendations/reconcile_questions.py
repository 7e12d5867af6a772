"""Answer a reconciliation question (`metrics.questions.reconparse`) from a run's `ReconciliationSummary`:
every number is one the run computed and wrote to ``summary.json``; the answer names the fields it read."""

from __future__ import annotations

from metrics.questions.intent import Answer, AnswerRow, Intent
from metrics.questions.vocabulary import ReconVocabulary
from recommendations.reconcile import ReconciliationSummary

COUNTS = {"lost": ("lost", "records in the legacy system missing from the migrated one"),
          "unexpected": ("unexpected", "records in the migrated system that are not in the legacy one"),
          "with_differences": ("with_differences", "matched records with at least one differing value"),
          "matched": ("matched", "records matched by key on both sides"),
          "identical": ("identical", "matched records with every compared value equal"),
          "impacted_customers": ("impacted_customers", "customers impacted by any mismatch"),
          "legacy_rows": ("legacy_rows", "rows in the legacy file"),
          "migrated_rows": ("migrated_rows", "rows in the migrated file")}


def recon_vocabulary(summary: ReconciliationSummary) -> ReconVocabulary:
    return ReconVocabulary(compared_columns=tuple(summary.compared_columns), amount_column=summary.amount_column,
                           pattern_labels=tuple(f.pattern.label for f in summary.findings))


def _amount(summary: ReconciliationSummary, field: str) -> list[tuple[AnswerRow, str]]:
    return [(AnswerRow(label=f"{field} {a.column}", value=getattr(a, field)), f"amounts[{a.column}].{field}")
            for a in summary.amounts]


def answer_reconciliation(summary: ReconciliationSummary, question: str, intent: Intent,
                          assumptions: tuple[str, ...] = ()) -> Answer:
    """The finding ``intent`` asks for, read from ``summary``."""
    m = intent.measure
    finding = m.finding
    c = summary.counts
    rows: list[tuple[AnswerRow, str]] = []
    if finding in COUNTS:
        field, words = COUNTS[finding]
        rows.append((AnswerRow(label=finding, value=float(getattr(c, field))), f"counts.{field}"))
        interpretation = f"the number of {words}"
        if m.amount and finding in ("lost", "unexpected"):
            rows += _amount(summary, "missing" if finding == "lost" else "unexpected")
            interpretation += ", and their amount"
    elif finding == "duplicate_keys":
        rows = [(AnswerRow(label="duplicate keys legacy", value=float(c.duplicate_keys_legacy)), "counts.duplicate_keys_legacy"),
                (AnswerRow(label="duplicate keys migrated", value=float(c.duplicate_keys_migrated)),
                 "counts.duplicate_keys_migrated")]
        interpretation = "the number of keys repeated on each side (their rows are set aside)"
    elif finding == "column_differences":
        stats = next(s for s in summary.columns if s.column == m.column)
        rows = [(AnswerRow(label=f"{stats.column} differ", value=float(stats.differ), records=stats.compared),
                 f"columns[{stats.column}].differ")]
        interpretation = f"the number of matched records whose {stats.column} differs"
        if m.amount and stats.total_abs_difference is not None:
            rows.append((AnswerRow(label=f"{stats.column} total absolute difference", value=stats.total_abs_difference),
                         f"columns[{stats.column}].total_abs_difference"))
            interpretation += ", and the total absolute difference"
    else:  # patterns
        found = [f for f in summary.findings
                 if (m.classification is None or f.pattern.classification == m.classification)
                 and (m.column is None or f.pattern.column == m.column)]
        if intent.ranking is not None:
            found = sorted(found, key=lambda f: (-f.pattern.records, f.pattern.label))[:intent.ranking.top]
        rows = [(AnswerRow(label=f.pattern.label, value=float(f.pattern.amount if m.amount else f.pattern.records),
                           records=f.pattern.records),
                 f"findings[{f.pattern.label}].pattern.{'amount' if m.amount else 'records'}") for f in found]
        kind = f"{m.classification} " if m.classification else ""
        of_column = f" of column {m.column}" if m.column else ""
        interpretation = (f"the {kind}mismatch pattern{'' if intent.ranking and intent.ranking.top == 1 else 's'}"
                          f"{of_column}" + (" with the most records" if intent.ranking else "")
                          + (", with their amount" if m.amount else ", with their records"))
    if not rows:
        text = f"{interpretation[0].upper()}{interpretation[1:]}: none."
    else:
        text = f"{interpretation[0].upper()}{interpretation[1:]}: " + "; ".join(
            f"{r.label}: {r.value:,.2f}" if "amount" in (r.label or "") or "missing" in (r.label or "")
            or "unexpected " in (r.label or "") or "difference" in (r.label or "") or m.amount
            else f"{r.label}: {r.value:,.0f}" for r, _ in rows) + "."
    return Answer(question=question, answered=True, text=text, interpretation=interpretation, intent=intent,
                  rows=tuple(r for r, _ in rows), query="read from summary.json: " + ", ".join(src for _, src in rows),
                  assumptions=assumptions)
