"""`cxw reconcile --engine spark`: the joins, comparisons and population counts on Spark give the output
folder DuckDB gives (summary, every export in its sorted row order, report), on a generated billing
migration with lost, unexpected, duplicated and changed accounts in truth."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from backend.cli import main
from backend.reconciliation import ReconcileOptions, reconcile
from data.synthetic.billing import generate_billing

HASHED = "64-bit hash"


def _same(a, b, where: str) -> None:
    """Equal, floats within 1e-9 relative (sums added in another order), everything else exactly."""
    if isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (where, a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, (where, a, b)


def _table(path: Path) -> pa.Table:
    return pq.read_table(path) if path.suffix == ".parquet" else pacsv.read_csv(path)


def test_reconcile_on_spark_writes_the_folder_duckdb_writes(spark, tmp_path):
    # Parquet sides: DuckDB joins the keys and hashes of the raw values first (the compared values are
    # stored alike), Spark compares the parsed values; the findings must not depend on it
    truth = generate_billing(tmp_path / "pair", 1000, seed=7, fmt="parquet", share=0.01)
    options = dict(legacy=tmp_path / "pair" / "legacy.parquet", migrated=tmp_path / "pair" / "migrated.parquet",
                   key=("account_id",), tolerances={"balance": 0.01})
    duck = reconcile(ReconcileOptions(**options), tmp_path / "duck")
    on_spark = reconcile(ReconcileOptions(**options, engine="spark"), tmp_path / "spark")

    assert (on_spark.counts.lost, on_spark.counts.unexpected) == (len(truth.lost), len(truth.unexpected))
    assert on_spark.counts.duplicate_rows_migrated > 0 and on_spark.counts.with_differences > 0
    assert any(f.pattern.classification == "systematic" for f in on_spark.findings)
    # the one sentence that differs: how the matched records were compared
    assert any(HASHED in a.text for a in duck.assumptions)
    assert not any(HASHED in a.text for a in on_spark.assumptions)
    docs = []
    for s in (duck, on_spark):
        doc = json.loads(s.model_dump_json())
        doc.pop("seconds")
        doc["assumptions"] = [a for a in doc["assumptions"] if HASHED not in a["text"]]
        docs.append(doc)
    _same(docs[0], docs[1], "summary")

    files = sorted(p.name for p in (tmp_path / "duck").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "spark").iterdir())
    for export in duck.exports:
        a, b = _table(tmp_path / "duck" / export.name), _table(tmp_path / "spark" / export.name)
        assert a.schema == b.schema and a.num_rows == export.rows, export.name
        _same(a.to_pylist(), b.to_pylist(), export.name)  # row order included: every export is sorted
    report = [[line for line in (tmp_path / f / "report.md").read_text().splitlines() if HASHED not in line]
              for f in ("duck", "spark")]
    assert report[0] == report[1]


@pytest.mark.parametrize("args, message", [
    (["--key", "nope"], "key column 'nope' not found"),
    (["--key", "account_id", "--tolerance", "balance=x"], "--tolerance 'balance=x'"),
])
def test_bad_input_on_engine_spark_is_one_line_before_spark_starts(tmp_path, capsys, args, message):
    generate_billing(tmp_path / "pair", 1000, seed=1)
    code = main(["reconcile", "--legacy", str(tmp_path / "pair" / "legacy.csv"), "--migrated",
                 str(tmp_path / "pair" / "migrated.csv"), "--out", str(tmp_path / "out"), "--engine", "spark", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()
