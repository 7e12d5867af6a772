"""User text never becomes SQL text: values are bound parameters, identifiers only declared columns, and the
statement one read-only SELECT with a time and a row limit. Attempts go through every field: the question,
the filter values, and each field of a follow-up's context."""

from __future__ import annotations

from datetime import datetime

import pytest

from backend.ask import ask, load_context
from backend.cli import main
from data.errors import UserError
from data.sources import open_workspace
from metrics.questions.compiler import MAX_ROWS, CompiledQuery, check_read_only, run_query
from metrics.questions.intent import Filter, Intent, Measure, TimeRange

EVIL = "west'); DROP TABLE records; SELECT * FROM read_text('/etc/passwd') --"


def _base() -> Intent:
    return Intent(measure=Measure(kind="count"), time=TimeRange(start=datetime(2026, 3, 1), end=datetime(2026, 3, 8),
                                                                label="first week"))


def test_question_values_are_parameters(cx_workspace):
    answer = ask(cx_workspace, "how many orders were late in region west yesterday")
    assert answer.answered
    assert "west" not in answer.query and "2026-03-22" not in answer.query
    assert "west" in answer.parameters and "2026-03-22 00:00:00" in answer.parameters


@pytest.mark.parametrize("question", [
    "how many orders in region west' OR '1'='1",
    "how many orders in region west; DROP TABLE records",
    "on time rate by region); DROP TABLE records; --",
    "how many orders in region \"west\" UNION SELECT * FROM read_text('/etc/passwd')",
    "cancellation rate in store 12 or 1=1",
])
def test_injection_through_the_question_is_refused(question, cx_workspace):
    answer = ask(cx_workspace, question)
    assert not answer.answered and answer.query is None


def test_injection_through_a_filter_value_stays_a_value(cx_workspace, cx_records):
    context = _base().model_copy(update={"filters": (Filter(dimension="region", values=(EVIL,)),)})
    answer = ask(cx_workspace, "and yesterday?", context)
    assert answer.answered and answer.rows[0].value == 0  # no region is called that
    assert EVIL not in answer.query and "passwd" not in answer.query and EVIL in answer.parameters
    assert len(cx_records) > 0 and ask(cx_workspace, "how many orders").rows[0].value == len(cx_records)


@pytest.mark.parametrize("update,field", [
    ({"filters": (Filter(dimension='region" = region OR 1=1 --', values=("west",)),)}, "filters.dimension"),
    ({"group_by": "region); DROP TABLE records; --"}, "group_by"),
    ({"measure": Measure(kind="metric", metric="on_time_rate) FROM records; --")}, "measure.metric"),
    ({"measure": Measure(kind="count", metric="avg_delivery_minutes")}, "measure.metric"),
])
def test_injection_through_context_identifiers_is_refused(update, field, cx_workspace):
    with pytest.raises(UserError, match=f"context: {field}"):
        ask(cx_workspace, "and yesterday?", _base().model_copy(update=update))


def test_a_context_label_is_never_sql(cx_workspace):
    context = _base().model_copy(update={"time": TimeRange(start=datetime(2026, 3, 1), end=datetime(2026, 3, 8),
                                                           label=EVIL)})
    answer = ask(cx_workspace, "only for region east", context)
    assert answer.answered and EVIL not in answer.query and "passwd" not in answer.query


@pytest.mark.parametrize("text,problem", [
    ("{not json", "not JSON"),
    ('{"measure": {"kind": "count"}, "sql": "DROP TABLE records"}', "sql: Extra inputs are not permitted"),
    ('{"measure": {"kind": "sql"}}', "measure.kind"),
    ('{"measure": {"kind": "count"}, "ranking": {"top": 100000}}', "ranking.top"),
    ('{"question": "q", "answered": false, "text": "no"}', "no intent"),
])
def test_bad_context_is_one_clear_error(text, problem):
    with pytest.raises(UserError, match=problem):
        load_context(text, "--context prev.json")


@pytest.mark.parametrize("sql", [
    "DROP TABLE records",
    "SELECT 1; DROP TABLE records",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM other_table",
    "COPY (SELECT * FROM records) TO '/tmp/x.csv'",
    "WITH base AS (SELECT * FROM records) DELETE FROM records",
])
def test_only_one_select_over_records_passes_the_check(sql):
    with pytest.raises(AssertionError):
        check_read_only(sql)


def test_time_and_row_limits(cx_workspace):
    ow = open_workspace(cx_workspace)
    try:
        slow = CompiledQuery("SELECT 'current', NULL, 'm', count(*), 1.0, 1.0, 1 FROM records a, records b, records c", ())
        with pytest.raises(UserError, match="longer than 0.2 s"):
            run_query(ow, slow, timeout_seconds=0.2)
        wide = CompiledQuery(f"SELECT 'current', NULL, 'm', 1.0, 1.0, 1.0, 1 FROM records a, records b LIMIT {MAX_ROWS + 1}", ())
        with pytest.raises(UserError, match="more than 20,000 rows"):
            run_query(ow, wide)
    finally:
        ow.con.close()


def test_cli_bad_input_is_one_line_and_exit_2(cx_workspace, tmp_path, capsys):
    bad = tmp_path / "prev.json"
    bad.write_text('{"measure": {"kind": "count"}, "group_by": "region; DROP TABLE records"}')
    assert main(["ask", str(cx_workspace), "and yesterday?", "--context", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: context: group_by")
    assert main(["ask", str(tmp_path / "missing"), "how many orders"]) == 2


def test_cli_answers_and_refuses(cx_workspace, tmp_path, capsys):
    assert main(["ask", str(cx_workspace), "how many orders were late yesterday", "--json"]) == 0
    first = capsys.readouterr().out
    (tmp_path / "prev.json").write_text(first)
    assert main(["ask", str(cx_workspace), "and the week before?", "--context", str(tmp_path / "prev.json")]) == 0
    out = capsys.readouterr().out
    assert "the week before (2026-03-15)" in out and "query: WITH base AS" in out
    assert main(["ask", str(cx_workspace), "what is the weather"]) == 1
    assert "I can't answer that" in capsys.readouterr().out
