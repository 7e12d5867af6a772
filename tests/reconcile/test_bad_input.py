"""Bad input: one clear line naming the file and column, exit 2, and nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.cli import main

GOOD = "account_id,balance\n1,10\n2,20\n"


def _cli(tmp_path: Path, legacy: Path, migrated: Path, *extra: str) -> int:
    return main(["reconcile", "--legacy", str(legacy), "--migrated", str(migrated), "--key", "account_id",
                 "--out", str(tmp_path / "out"), *extra])


def _file(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


CASES = {
    "empty file": (b"", "the file is empty"),
    "only blank lines": (b"\n\n  \n", "the file is empty"),
    "no header": ("1,10\n2,20\n3,30\n", "no header row found"),
    "header without records": ("account_id,balance\n", "header but no records"),
    "binary file": (bytes(range(256)) * 8, "binary file"),
    "not a table": ("just one line of prose\nand another\n", "no delimited columns"),
    "key column missing": ("id,balance\n1,10\n", "key column 'account_id' not found"),
    "ragged row": ("account_id,balance\n1,10\n2,20\n3,30,7\n", "Expected Number of Columns: 2 Found: 3"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_legacy_file(tmp_path, capsys, case):
    data, message = CASES[case]
    bad = _file(tmp_path, "legacy.csv", data)
    good = _file(tmp_path, "migrated.csv", GOOD)
    previous = tmp_path / "out"
    previous.mkdir()
    (previous / "keep.txt").write_text("from an earlier run")
    assert _cli(tmp_path, bad, good) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert str(bad) in err and message in err
    # the earlier output is untouched and no temporary folder is left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["legacy.csv", "migrated.csv", "out"]
    assert (previous / "keep.txt").read_text() == "from an earlier run"


def test_mismatched_key_types(tmp_path, capsys):
    legacy = _file(tmp_path, "legacy.csv", GOOD)
    migrated = tmp_path / "migrated.parquet"
    pq.write_table(pa.table({"account_id": pa.array(["2025-01-01", "2025-01-02"]).cast(pa.date32()),
                             "balance": [10.0, 20.0]}), migrated)
    assert _cli(tmp_path, legacy, migrated) == 2
    err = capsys.readouterr().err.strip()
    assert str(migrated) in err and "'account_id'" in err and "key types do not match" in err
    assert not (tmp_path / "out").exists()


def test_missing_file_and_bad_options(tmp_path, capsys):
    good = _file(tmp_path, "migrated.csv", GOOD)
    assert _cli(tmp_path, tmp_path / "nope.csv", good) == 2
    assert "nope.csv: no such file" in capsys.readouterr().err
    assert _cli(tmp_path, good, good, "--tolerance", "balance=abc") == 2
    assert "--tolerance 'balance=abc'" in capsys.readouterr().err
    assert _cli(tmp_path, good, good, "--tolerance", "nothere=0.1") == 2
    assert "no compared column" in capsys.readouterr().err
    assert _cli(tmp_path, good, good, "--compare", "nothere") == 2
    assert "compared column 'nothere' not found" in capsys.readouterr().err
    assert _cli(tmp_path, good, good, "--key-normalize", "trim,bogus") == 2
    assert "unknown rule(s) bogus" in capsys.readouterr().err
    assert _cli(tmp_path, good, good, "--previous", str(tmp_path / "none")) == 2
    assert "--previous" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_corrupt_parquet(tmp_path, capsys):
    bad = _file(tmp_path, "legacy.parquet", b"PAR1" + b"garbage" * 20)
    assert _cli(tmp_path, bad, _file(tmp_path, "migrated.csv", GOOD)) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "cannot read as Parquet" in err and "Traceback" not in err
