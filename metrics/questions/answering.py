"""Answer an `Intent` over an opened workspace: compile, run, rank, and say it in words.

The text is a deterministic template filled only with the computed numbers; `interpretation` says what the
question was read as, `query` and `parameters` what ran, `assumptions` every choice the parser made.
"""

from __future__ import annotations

from data.sources import OpenWorkspace
from data.workspace import MetricSpec
from metrics.questions.compiler import CURRENT, PREVIOUS, QueryRow, compile_intent, run_query, shown_parameters
from metrics.questions.intent import Answer, AnswerRow, Intent
from metrics.questions.vocabulary import Vocabulary


def describe_measure(intent: Intent, vocab: Vocabulary) -> str:
    m = intent.measure
    spec = vocab.metric(m.metric) if m.metric else None
    if m.kind == "count":
        if spec is None:
            return "the number of records"
        return f"the number of records where {spec.name} is {'false' if m.negated else 'true'} ({spec.expr})"
    assert spec is not None
    return f"1 − {spec.name} (the share of records where {spec.expr} is false)" if m.negated else f"the {spec.name}"


def describe_intent(intent: Intent, vocab: Vocabulary) -> str:
    """The intent in words, e.g. ``on_time_rate for region = west, in yesterday (2026-01-27), by store_id``."""
    parts = [describe_measure(intent, vocab)]
    if intent.filters:
        parts.append("for " + " and ".join(f"{f.dimension} = {' or '.join(f.values)}" for f in intent.filters))
    parts.append(f"for {intent.time.label}" if intent.time else "over every record")
    if intent.compare:
        parts.append(f"compared with {intent.compare.label}")
    if intent.group_by:
        r = intent.ranking
        if r is None:
            parts.append(f"by {intent.group_by}")
        else:
            what = ("increase" if r.descending else "decrease") if r.by == "change" else \
                ("highest value" if r.descending else "lowest value")
            which = f"the {intent.group_by}" if r.top == 1 else f"the {r.top} {intent.group_by} values"
            floor = f" among those with at least {intent.min_records} records" if intent.min_records > 1 else ""
            parts.append(f"{which} with the {what}{floor}")
    return ", ".join(parts)


def _fmt(value: float | None, spec: MetricSpec | None, count: bool, change: bool = False) -> str:
    """A number as the text shows it: counts whole, rates in % (a change of a rate in points), else 2 decimals."""
    if value is None:
        return "no change to compute" if change else "no value"
    sign = "+" if change else ""
    if count:
        return f"{value:{sign},.0f}"
    if spec is not None and spec.type == "rate":
        return f"{100 * value:{sign}.1f}" + (" points" if change else "%")
    unit = f" {spec.unit}" if spec is not None and spec.unit and not change else ""
    return f"{value:{sign},.2f}{unit}"


def _rows(rows: list[QueryRow], intent: Intent) -> list[AnswerRow]:
    negate = intent.measure.kind == "metric" and intent.measure.negated
    by_label: dict[str | None, dict[str, QueryRow]] = {}
    for r in rows:
        if negate and r.value is not None:
            r = QueryRow(r.period, r.label, 1.0 - r.value,
                         None if r.denominator is None or r.numerator is None else r.denominator - r.numerator,
                         r.denominator, r.records)
        by_label.setdefault(r.label, {})[r.period] = r
    out = []
    labels = by_label if intent.group_by else {None: by_label.get(None, {})}
    for label, periods in labels.items():
        cur, prev = periods.get(CURRENT), periods.get(PREVIOUS)
        value = cur.value if cur else (0.0 if intent.measure.kind == "count" else None)
        row = AnswerRow(label=label, value=value, numerator=cur.numerator if cur else None,
                        denominator=cur.denominator if cur else None, records=cur.records if cur else 0)
        if intent.compare is not None:
            pv = prev.value if prev else (0.0 if intent.measure.kind == "count" else None)
            change = None if value is None or pv is None else value - pv
            row = row.model_copy(update={"previous_value": pv, "previous_records": prev.records if prev else 0,
                                         "change": change})
        out.append(row)
    return out


def _ranked(rows: list[AnswerRow], intent: Intent) -> list[AnswerRow]:
    r = intent.ranking
    if r is None:
        return sorted(rows, key=lambda x: str(x.label))
    key = "change" if r.by == "change" else "value"
    eligible = [x for x in rows if getattr(x, key) is not None and (x.records or 0) >= intent.min_records
                and (intent.compare is None or (x.previous_records or 0) >= intent.min_records)]
    sign = -1.0 if r.descending else 1.0
    return sorted(eligible, key=lambda x: (sign * getattr(x, key), str(x.label)))[:r.top]


def answer_intent(ow: OpenWorkspace, vocab: Vocabulary, question: str, intent: Intent,
                  assumptions: tuple[str, ...] = (), timeout_seconds: float = 10.0) -> Answer:
    """Run ``intent`` and return the typed answer (a refusal when its time range holds no data)."""
    for rng in (intent.time, intent.compare):
        if rng is not None and (rng.end <= vocab.first or rng.start > vocab.last):
            return refusal(question, f"there are no records in {rng.label}: the data covers "
                                     f"{vocab.first:%Y-%m-%d %H:%M} to {vocab.last:%Y-%m-%d %H:%M}")
    query = compile_intent(intent, vocab, ow.workspace.records.timestamp)
    rows = _ranked(_rows(run_query(ow, query, timeout_seconds), intent), intent)
    if intent.ranking is not None and not rows:
        return refusal(question, f"no {intent.group_by} has at least {intent.min_records} records in the asked "
                                 "period(s), so none is ranked")
    spec = vocab.metric(intent.measure.metric) if intent.measure.metric else None
    count = intent.measure.kind == "count"
    interpretation = describe_intent(intent, vocab)
    if intent.group_by is None:
        row = rows[0]
        text = f"{interpretation[0].upper()}{interpretation[1:]}: {_fmt(row.value, spec, count)}"
        if intent.compare is not None:
            text += (f", against {_fmt(row.previous_value, spec, count)} in {intent.compare.label} "
                     f"({_fmt(row.change, spec, count, change=True)})")
        text += "."
    else:
        items = []
        for row in rows:
            item = f"{row.label}: {_fmt(row.value, spec, count)}"
            if intent.compare is not None:
                item += (f" (against {_fmt(row.previous_value, spec, count)}, "
                         f"{_fmt(row.change, spec, count, change=True)})")
            items.append(item)
        text = f"{interpretation[0].upper()}{interpretation[1:]}: " + "; ".join(items) + "."
    return Answer(question=question, answered=True, text=text, interpretation=interpretation, intent=intent,
                  rows=tuple(rows), unit=None if count or spec is None else ("share" if spec.type == "rate" else spec.unit),
                  query=query.sql, parameters=shown_parameters(query.parameters), assumptions=assumptions)


def refusal(question: str, reason: str, suggestions: tuple[str, ...] = ()) -> Answer:
    """"I can't answer that", why, and the closest supported questions; no number."""
    return Answer(question=question, answered=False, text=f"I can't answer that: {reason}.",
                  suggestions=suggestions)


