"""`data.engines.render_spark`: DuckDB SQL rendered for Spark, parameters bound as literals, and every
dialect difference rewritten or marked in the SQL (no JVM needed)."""

from __future__ import annotations

from datetime import datetime

import pytest

from data.engines import render_spark
from metrics.cube import cube_queries
from metrics.questions.compiler import compile_intent
from metrics.questions.intent import Intent
from metrics.questions.vocabulary import Vocabulary
from tests.conftest import write_workspace
from data.workspace import load_workspace


def test_parameters_become_typed_literals_never_text():
    sql = render_spark("SELECT count(*) FROM records WHERE ts >= ? AND region = ? AND n > ?",
                       [datetime(2026, 1, 2, 3, 4, 5), "it's; DROP TABLE x", 3])
    assert "CAST('2026-01-02 03:04:05' AS TIMESTAMP)" in sql
    assert "region = 'it\\'s; DROP TABLE x'" in sql  # one string literal, quote escaped the Spark way
    assert sql.endswith("n > 3")


def test_parameter_count_must_match():
    with pytest.raises(ValueError, match="2 parameters in the query, 1 given"):
        render_spark("SELECT 1 FROM records WHERE a = ? AND b = ?", [1])


def test_division_by_zero_is_explicit():
    guarded = render_spark("SELECT x / nullif(y, 0) FROM t")
    assert "x / /* division: a non-zero or nullif(.., 0) divisor, the same in DuckDB and Spark */ NULLIF(y, 0)" \
        in guarded
    assert "TRY_DIVIDE" not in render_spark("SELECT x / 86400 FROM t")
    unguarded = render_spark("SELECT x / y FROM t")
    assert unguarded.startswith("SELECT TRY_DIVIDE(x, y) /* division: DuckDB gives +-inf/NaN")


def test_multi_argument_grouping_is_grouping_id():
    sql = render_spark("SELECT grouping(a), grouping(a, b) FROM t GROUP BY GROUPING SETS ((a), (a, b))")
    assert "GROUPING(a)," in sql
    assert "GROUPING_ID(a, b) /* multi-argument GROUPING: DuckDB's bit mask is Spark's grouping_id */" in sql


def test_null_ordering_time_zone_and_sums_are_marked():
    sql = render_spark("SELECT date_trunc('hour', ts) AS h, sum(x) FROM t GROUP BY 1 ORDER BY h, 2 DESC")
    assert "ORDER BY h NULLS LAST, 2 DESC" in sql  # DuckDB's default, written out for Spark
    assert "/* time zone: naive UTC timestamps, spark.sql.session.timeZone=UTC */" in sql
    assert "/* sum: exact for integers; floats added in partition order" in sql


def test_tables_are_renamed_to_the_sessions_views_and_only_those():
    sql = render_spark("SELECT r.a FROM records AS r JOIN other.records o ON TRUE JOIN wide w ON TRUE",
                       tables={"records": "cxw3_records"})
    assert "FROM cxw3_records AS r JOIN other.records AS o" in sql and "JOIN wide AS w" in sql


def test_the_cube_renders_with_its_dialect_notes(tmp_path):
    ws = load_workspace(write_workspace(tmp_path / "ws"))
    wide, long = cube_queries(ws)
    wide_spark, long_spark = render_spark(wide), render_spark(long)
    assert "GROUPING SETS" in wide_spark and "GROUPING_ID" not in wide_spark  # one-argument grouping() only
    assert "TRY_DIVIDE" not in long_spark and "nullif(.., 0) divisor, the same in DuckDB and Spark" in long_spark
    assert "CAST(NULL AS DOUBLE)" in long_spark  # DuckDB's NULL::DOUBLE


def test_parameters_bind_in_text_order_and_question_marks_in_strings_stay():
    sql = render_spark("SELECT '?' AS q FROM records WHERE a = ? AND b IN (SELECT c FROM t WHERE d = ?) "
                       "GROUP BY 1 HAVING count(*) > ?", ["first", "second", 3])
    assert sql.index("'first'") < sql.index("'second'") < sql.index("> 3")
    assert "'?' AS q" in sql


def test_a_compiled_question_renders_with_its_filter_and_bound_values(tmp_path):
    """`cxw ask`'s query on Spark: the aggregate FILTER as written (the same meaning in both), the
    dimension value and time bounds bound as literals, NULLs ordered as in DuckDB."""
    ws = load_workspace(write_workspace(tmp_path / "ws"))
    vocab = Vocabulary(metrics=tuple(ws.metrics), dimensions={d: ("a",) for d in ws.records.dimensions},
                       first=datetime(2026, 1, 1), last=datetime(2026, 1, 4))
    intent = Intent.model_validate({
        "measure": {"kind": "count", "metric": "on_time_rate", "negated": True}, "group_by": "store",
        "filters": [{"dimension": "region", "values": ["it's"]}],
        "time": {"start": "2026-01-02T00:00:00", "end": "2026-01-03T00:00:00", "label": "January 2"}})
    query = compile_intent(intent, vocab, ws.records.timestamp)
    sql = render_spark(query.sql, query.parameters, {"records": "cxw9_records"})
    assert "COUNT(*) FILTER(WHERE x0 = 0) AS hits" in sql
    assert "`created_at` >= CAST('2026-01-02 00:00:00' AS TIMESTAMP)" in sql
    assert "CAST(`region` AS STRING) = 'it\\'s'" in sql and "FROM cxw9_records" in sql
    assert sql.endswith("ORDER BY ts NULLS LAST, slice NULLS LAST LIMIT 20001")


def test_semi_and_anti_joins_filter_and_group_by_all_render_unchanged():
    # the reconciliation's set-aside and key counts (`data.pairs.set_aside`), as Spark reads them
    semi = render_spark("SELECT a.* FROM all_legacy a SEMI JOIN dupkeys d ON a.__key = d.__key")
    anti = render_spark("SELECT a.* FROM all_legacy a ANTI JOIN dupkeys d ON a.__key = d.__key WHERE a.__key IS NOT NULL")
    assert semi == "SELECT a.* FROM all_legacy AS a SEMI JOIN dupkeys AS d ON a.__key = d.__key"
    assert anti.startswith("SELECT a.* FROM all_legacy AS a ANTI JOIN dupkeys AS d ON a.__key = d.__key WHERE")
    counts = render_spark("SELECT coalesce(sum(n) FILTER (WHERE in_l AND NOT in_m), 0), count(*) FILTER (WHERE x > 1) "
                          "FROM key_classes")
    assert "SUM(n) /* sum: exact for integers" in counts and "FILTER(WHERE in_l AND NOT in_m)" in counts
    assert "COUNT(*) FILTER(WHERE x > 1)" in counts
    assert render_spark("SELECT d, count(*) AS n FROM t GROUP BY ALL").endswith("GROUP BY ALL")


def test_hash_is_marked_as_engine_specific():
    sql = render_spark("SELECT hash(r1, r2) AS h FROM t")
    assert sql.startswith("SELECT HASH(r1, r2) /* hash: DuckDB's hash() and Spark's (Murmur3) give other values")


def test_interval_arithmetic_is_written_as_integer_microseconds():
    from recommendations.experiment import switchback_block
    from recommendations.records import micros_since

    sql = render_spark(f"SELECT {micros_since(datetime(2026, 1, 2, 3, 4, 5, 6), 'ts')}, {switchback_block('ts', 5)} "
                       "FROM records")
    assert "DATEDIFF(MICROSECOND, CAST('2026-01-02 03:04:05.000006' AS TIMESTAMP_NTZ), ts)" in sql
    assert "FLOOR(DATEDIFF(MICROSECOND, CAST('2000-01-03 00:00:00' AS TIMESTAMP_NTZ), ts) / " in sql
    assert "18000000000) AS BIGINT)" in sql and "UNIX_TIMESTAMP" not in sql and "DATE_BIN" not in sql
