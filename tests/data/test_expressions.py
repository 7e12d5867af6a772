"""A workspace is data, never code: the attack table against every field that takes an expression.

Each attack goes through the checker, `cxw validate` and `cxw analyze` on a workspace file, for every
expression field (a rate's and a mean's ``expr``, a ratio's ``numerator`` and ``denominator``): refused
with one line naming the metric and field, exit 2, and the file it tries to write never appears. The
engine's second line of defence (external access off on a workspace connection) is tested on its own.
Legitimate expressions still pass, and their rendered SQL computes exactly what the text does.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from backend.cli import main
from data.expressions import ExpressionError, checked_sql
from data.sources import open_workspace
from tests.conftest import tiny_records

SECRET = "secret-file-content-4f2a"

# (case, expression template, part of the message). {target}: a file the attack tries to create;
# {secret}: a file it tries to read. None of them may write or read anything.
ATTACKS = [
    ("statement_injection_issue", "1) AS x FROM records; COPY (SELECT 'x') TO '{target}'; DESCRIBE SELECT (1.0",
     "does not parse"),
    ("statement_injection_copy", "minutes; COPY (SELECT 'x') TO '{target}'", "not SQL statements"),
    ("statement_injection_select", "minutes; SELECT 1", "not several statements"),
    ("file_read_read_text_subquery", "(SELECT length(content) FROM read_text('{secret}'))::DOUBLE", "a subquery"),
    ("file_read_read_text_from", "minutes FROM read_text('{secret}')", "FROM is not allowed"),
    ("file_read_read_text_call", "length(read_text('{secret}'))", "the function read_text()"),
    ("file_read_read_csv", "(SELECT count(*) FROM read_csv('{secret}'))", "a subquery"),
    ("file_read_read_csv_call", "read_csv_auto('{secret}') IS NULL", "the function read_csv_auto()"),
    ("file_read_read_parquet", "minutes + (SELECT 1 FROM read_parquet('{secret}'))", "a subquery"),
    ("file_read_glob", "(SELECT count(*) FROM glob('/etc/*'))", "a subquery"),
    ("file_read_glob_call", "glob('/etc/*') IS NULL", "the function glob()"),
    ("file_write_copy", "COPY (SELECT 1) TO '{target}'", "does not parse"),
    ("table_function_range", "minutes FROM range(3)", "FROM is not allowed"),
    ("table_function_query", "(SELECT * FROM query('SELECT 1'))", "a subquery"),
    ("extension_install", "minutes; INSTALL httpfs", "not SQL statements"),
    ("extension_load", "minutes; LOAD httpfs", "not SQL statements"),
    ("attach", "minutes; ATTACH '{target}' AS evil", "not SQL statements"),
    ("pragma", "minutes; PRAGMA version", "not SQL statements"),
    ("pragma_alone", "PRAGMA version", "is not allowed"),
    ("set", "minutes; SET enable_external_access = true", "not SQL statements"),
    ("settings_read", "current_setting('threads') > 0", "the function current_setting()"),
    ("environment_read", "getenv('HOME') IS NOT NULL", "the function getenv()"),
    ("subquery_scalar", "(SELECT max(minutes) FROM records)", "a subquery"),
    ("subquery_in", "minutes IN (SELECT minutes FROM records)", "a subquery"),
    ("subquery_exists", "EXISTS (SELECT 1)", "a subquery"),
    ("union", "minutes UNION SELECT 1", "not a query"),
    ("aggregate", "sum(minutes)", "the function sum()"),
    ("window", "row_number() OVER ()", "a window function"),
    ("lambda", "minutes -> 1", "a lambda"),
    ("list_function", "list_transform([minutes], x -> x)", "the function list_transform()"),
    ("parameter", "minutes + ?", "a parameter"),
    ("qualified_column", "records.minutes", "a qualified name"),
    ("qualified_function", "main.abs(minutes)", "a qualified function name"),
    ("comment_line", "minutes -- ; COPY (SELECT 1) TO '{target}'", "comments"),
    ("comment_block", "minutes /* ; COPY (SELECT 1) TO '{target}' */", "comments"),
    ("quote_double", "\"minutes\"\"; COPY (SELECT 1) TO '{target}'; --\"", "is not a column"),
    ("quote_single", "minutes > '1'; COPY (SELECT 1) TO '{target}'; SELECT 'x'", "not SQL statements"),
    ("quote_dollar", "$$x$$; COPY (SELECT 1) TO '{target}'", "not SQL statements"),
    ("unicode_fullwidth_semicolon", "minutes\uff1b COPY (SELECT 1) TO '{target}'", "does not parse"),
    ("unicode_greek_question_mark", "minutes\u037e COPY (SELECT 1) TO '{target}'", "does not parse"),
    ("unicode_apostrophe", "region = \u02bcnorth\u02bc", "is not a column"),
    ("alias", "minutes AS x", "an alias"),
    ("star", "*", "'*'"),
    ("nul_byte", "minutes\x00; COPY (SELECT 1) TO '{target}'", "NUL"),
]

FIELDS = [("on_time_rate", "expr"), ("avg_minutes", "expr"), ("refund_per_item", "numerator"),
          ("refund_per_item", "denominator")]


def _attack(template: str, tmp_path: Path) -> tuple[str, Path]:
    target = tmp_path / "pwned.csv"
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    return template.format(target=target, secret=secret), target


def _set(path: Path, metric: str, key: str, text: str) -> None:
    spec = yaml.safe_load(path.read_text())
    next(m for m in spec["metrics"] if m["name"] == metric)[key] = text
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))


@pytest.mark.parametrize("case, template, expected", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_checker_refuses_attack(tmp_path, case, template, expected):
    text, target = _attack(template, tmp_path)
    with pytest.raises(ExpressionError) as err:
        checked_sql(text, tiny_records().columns)
    assert expected in str(err.value), str(err.value)
    assert len(str(err.value).splitlines()) == 1 and SECRET not in str(err.value)
    assert not target.exists()


@pytest.mark.parametrize("metric, key", FIELDS, ids=[f"{m}.{k}" for m, k in FIELDS])
@pytest.mark.parametrize("case, template, expected", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_cli_validate_refuses_attack_in_every_field(tiny_workspace, capsys, metric, key, case, template, expected):
    text, target = _attack(template, tiny_workspace.parent)
    _set(tiny_workspace, metric, key, text)
    code = main(["validate", str(tiny_workspace)])
    err = capsys.readouterr()
    assert code == 2, err
    assert f"metrics.{metric}.{key}: " in err.err and expected in err.err, err.err
    assert len(err.err.strip().splitlines()) == 1 and "Traceback" not in err.err
    assert "ok" not in err.out + err.err.split(":")[0]
    assert SECRET not in err.out + err.err
    assert not target.exists()


@pytest.mark.parametrize("case, template, expected", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_cli_analyze_refuses_attack(tiny_workspace, capsys, case, template, expected):
    text, target = _attack(template, tiny_workspace.parent)
    _set(tiny_workspace, "avg_minutes", "expr", text)
    out = tiny_workspace.parent / "analysis"
    code = main(["analyze", str(tiny_workspace), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "metrics.avg_minutes.expr: " in err and expected in err, err
    assert SECRET not in err and not target.exists() and not out.exists()


def test_workspace_connection_has_no_external_access(tiny_workspace, tmp_path):
    """Second line of defence: even SQL that got past the checker could not read, write, attach or install."""
    ow = open_workspace(tiny_workspace)
    secret, target = tmp_path / "secret.txt", tmp_path / "pwned.csv"
    secret.write_text(SECRET)
    attempts = [f"SELECT * FROM read_text('{secret}')", f"SELECT * FROM read_csv('{secret}')",
                f"SELECT * FROM glob('{tmp_path}/*')", f"COPY (SELECT 1) TO '{target}'",
                f"ATTACH '{target}' AS evil", "INSTALL httpfs", "LOAD httpfs",
                "SET enable_external_access = true", f"SET allowed_directories = ['{tmp_path}']",
                f"SET allowed_paths = ['{secret}']"]
    for sql in attempts:
        with pytest.raises(duckdb.Error):
            ow.con.execute(sql).fetchall()
    assert not target.exists()
    assert ow.con.execute("SELECT count(*) FROM records").fetchone()[0] == 600  # the records stay readable


LEGIT = [
    "delivered_at <= promised_at",
    "cancelled",
    "NOT cancelled AND delivered_at IS NOT NULL",
    "minutes",
    "minutes * 60 + 0.5",
    "-minutes",
    "minutes - -1",
    "CAST(minutes AS INTEGER)",
    "minutes::DOUBLE / nullif(items, 0)",
    "coalesce(refund, 0)",
    "CASE WHEN minutes > 30 THEN 1 WHEN minutes IS NULL THEN NULL ELSE 0 END",
    "CASE region WHEN 'north' THEN 1.5 ELSE 0 END",
    "region IN ('north', 'south') OR region IS NULL",
    "store NOT LIKE 's1%'",
    "minutes BETWEEN 20 AND 30",
    "date_diff('minute', created_at, delivered_at) > 30",
    "delivered_at - promised_at > INTERVAL 5 MINUTE",
    "extract(hour FROM created_at) >= 12",
    "date_trunc('day', created_at) = TIMESTAMP '2026-01-02'",
    "greatest(minutes, 0) + least(items, 2)",
    "round(refund, 1) >= 10",
    "region = 'it''s'",
    "if(cancelled, 1, 0)",
]


@pytest.mark.parametrize("text", LEGIT)
def test_legitimate_expression_renders_to_the_same_values(text):
    con = duckdb.connect()
    con.register("frame", tiny_records())
    con.execute("CREATE TABLE records AS SELECT * FROM frame")
    columns = [r[0] for r in con.execute("DESCRIBE records").fetchall()]
    sql = checked_sql(text, columns)
    assert checked_sql(sql, columns) == sql, "rendering is a fixed point"
    want = con.execute(f"SELECT {text} AS v FROM records ORDER BY order_id").df()
    got = con.execute(f"SELECT {sql} AS v FROM records ORDER BY order_id").df()
    pd.testing.assert_frame_equal(got, want)


def test_workspace_holds_rendered_sql_and_validates(tiny_workspace, capsys):
    _set(tiny_workspace, "avg_minutes", "expr", "CASE WHEN minutes > 30 THEN minutes ELSE 0 END")
    ow = open_workspace(tiny_workspace)
    assert ow.workspace.metric("avg_minutes").expr == '(CASE WHEN ("minutes" > 30) THEN "minutes" ELSE 0 END)'
    assert main(["metrics", str(tiny_workspace), "--out", str(tiny_workspace.parent / "out")]) == 0  # the tiny data spans no detection window, so not `validate`


def test_change_scope_is_data_never_sql(tiny_workspace, capsys):
    """A change scope names dimensions (checked) and values (always quoted literals): an attack in a dimension
    is refused, one in a value is only a value that matches no record."""
    from metrics.definitions import scope_predicate

    changes = tiny_workspace.parent / "changes.csv"
    changes.write_text("ts,name,kind,scope,description\n"
                       "2026-01-02T10:00:00,a,policy,region=north' OR '1'='1,x\n")
    assert main(["metrics", str(tiny_workspace), "--out", str(tiny_workspace.parent / "out")]) == 0  # the tiny data spans no detection window, so not `validate`
    ow = open_workspace(tiny_workspace)
    (event,) = ow.changes
    assert event.scope[0].filters == (("region", "north' OR '1'='1"),)
    predicate = scope_predicate(event.scope)
    assert ow.con.execute(f"SELECT count(*) FROM records WHERE {predicate}").fetchone()[0] == 0  # not 600
    changes.write_text("ts,name,kind,scope,description\n"
                       "2026-01-02T10:00:00,a,policy,\"region\"\" OR 1=1 OR \"\"x=y\",x\n")
    assert main(["validate", str(tiny_workspace)]) == 2
    assert "scope names 'region\" OR 1', which is not a dimension" in capsys.readouterr().err
