"""Questions over a workspace answered on Spark equal DuckDB's answers: the vocabulary read from the
records, and for every kind of question the compiler builds (counts, counts of a rate's condition and of
its complement, rates, means, ratios, a composite, filters with the NULL label, time ranges, comparisons,
breakdowns, rankings by value and by change) the same text, rows and query (exact for counts, 1e-9 relative
for floats); a question over its time limit is stopped on Spark with DuckDB's message."""

from __future__ import annotations

import math
import time

import pytest

from backend.ask import AskOptions, answer_question
from backend.cli import main
from data.errors import UserError
from data.sources import open_workspace
from metrics.definitions import NULL_LABEL
from metrics.questions.answering import answer_intent
from metrics.questions.compiler import CompiledQuery, run_query
from metrics.questions.intent import Answer, Intent
from metrics.questions.vocabulary import workspace_vocabulary
from tests.conftest import tiny_records, write_workspace

QUESTIONS = [  # each a different query (negations and rankings are applied in Python, after the query)
    "on time rate by store yesterday compared with the day before",
    "which 2 stores had the biggest increase in avg minutes yesterday compared with the day before",
    "how many records were not on time in north by channel yesterday",
    "score by region",
    "refund per item in region north on ios",
]
# what the parser does not produce from words: a filter on the NULL label, a negated count compared by group
INTENTS = [
    {"measure": {"kind": "count", "metric": "on_time_rate", "negated": True},
     "filters": [{"dimension": "region", "values": ["north", NULL_LABEL]}], "group_by": "store",
     "time": {"start": "2026-01-02T00:00:00", "end": "2026-01-03T00:00:00", "label": "January 2"},
     "compare": {"start": "2026-01-01T00:00:00", "end": "2026-01-02T00:00:00", "label": "January 1"}},
    {"measure": {"kind": "metric", "metric": "refund_per_item"}, "filters": [{"dimension": "region", "values": [NULL_LABEL]}],
     "group_by": "channel", "ranking": {"by": "value", "descending": False, "top": 1}, "min_records": 5},
]
LIMIT = 600  # seconds: generous, a loaded machine's first Spark queries are slow (the limit is tested below)
FLOATS = ("value", "numerator", "denominator", "previous_value", "change")


@pytest.fixture(scope="module")
def both(spark, tmp_path_factory):
    path = write_workspace(tmp_path_factory.mktemp("askspark") / "ws", tiny_records(1500, seed=3))
    duck, on_spark = open_workspace(path), open_workspace(path, engine="spark")
    yield path, duck, on_spark
    duck.con.close()
    on_spark.con.close()


def _same(a: Answer, b: Answer) -> None:
    assert a.answered and b.answered, (a.text, b.text)
    exclude = {"rows"}
    assert a.model_dump(exclude=exclude) == b.model_dump(exclude=exclude)
    assert len(a.rows) == len(b.rows)
    for x, y in zip(a.rows, b.rows, strict=True):
        assert (x.label, x.records, x.previous_records) == (y.label, y.records, y.previous_records)
        for key in FLOATS:
            u, v = getattr(x, key), getattr(y, key)
            assert (u is None) == (v is None), key
            if u is not None:
                assert math.isclose(u, v, rel_tol=1e-9, abs_tol=0.0), (key, u, v)


def test_answers_on_spark_equal_duckdbs(both):
    _, duck, on_spark = both
    vocab = workspace_vocabulary(duck)
    assert workspace_vocabulary(on_spark) == vocab
    assert vocab.dimensions["region"] == ("east", "north", "south")  # NULL left out, sorted as text
    for question in QUESTIONS:
        _same(answer_question(duck, vocab, question, options=AskOptions(LIMIT)),
              answer_question(on_spark, vocab, question, options=AskOptions(LIMIT)))
    for raw in INTENTS:
        intent = Intent.model_validate(raw)
        _same(answer_intent(duck, vocab, "q", intent, timeout_seconds=LIMIT),
              answer_intent(on_spark, vocab, "q", intent, timeout_seconds=LIMIT))
    counted = answer_intent(duck, vocab, "q", Intent.model_validate(INTENTS[0]))
    assert {r.label for r in counted.rows} == {"s1", "s2", "s3", "s4"} and all(r.records for r in counted.rows)


def test_a_question_over_its_time_limit_is_stopped_on_spark(both):
    _, _, on_spark = both
    slow = CompiledQuery("SELECT 'current', NULL, 'm', count(*), 1.0, 1.0, 1 "
                         "FROM records a, records b, records c", ())  # 3.4e9 rows: minutes if not stopped
    started = time.monotonic()
    with pytest.raises(UserError, match="the question took longer than 0.05 s; narrow it"):
        run_query(on_spark, slow, timeout_seconds=0.05)
    # the session answers at once: the cancelled tasks freed both of its cores
    assert on_spark.engine.rows("SELECT count(*) FROM records") == [(1500,)]
    assert time.monotonic() - started < 30


def test_cli_ask_engine_spark_prints_duckdbs_answer(both, capsys, monkeypatch):
    path, _, _ = both
    monkeypatch.setenv("CXW_ASK_TIMEOUT_SECONDS", str(LIMIT))
    question = "how many records were cancelled by channel yesterday"
    assert main(["ask", str(path), question]) == 0
    on_duckdb = capsys.readouterr().out
    assert main(["ask", str(path), question, "--engine", "spark"]) == 0
    assert capsys.readouterr().out == on_duckdb
    assert "The number of records where cancel_rate is true" in on_duckdb and "ios: " in on_duckdb
