"""Messy inputs: each case of the issue's point 2 written in the test, read back as the clean side it equals."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from backend.reconciliation import ReconcileOptions, reconcile

CLEAN = ("account_id,customer,name,balance,opened\n"
         "1001,C1,Zoë Müller,1234.5,2025-01-03\n"
         "1002,C2,Ana,-12,2025-02-28\n"
         "1003,C3,Bob,0.99,2025-12-31\n")


def _write(path: Path, text: str, encoding: str = "utf-8", bom: bool = False) -> Path:
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def _run(tmp_path: Path, legacy: Path, migrated_text: str = CLEAN, **kw):
    migrated = _write(tmp_path / "migrated.csv", migrated_text)
    return reconcile(ReconcileOptions(legacy=legacy, migrated=migrated, key=kw.pop("key", ("account_id",)), **kw),
                     tmp_path / "out")


def _texts(summary) -> str:
    return "\n".join(f"{a.file} {a.column or ''}: {a.text}" for a in summary.assumptions)


def test_junk_lines_semicolons_and_bom(tmp_path):
    text = ("Billing export;;;;\nPrinted 05/01/2026\n\n"
            "Account ID;Customer;Name;Balance;Opened\n"
            "1001;C1;Zoë Müller;1234.5;2025-01-03\n1002;C2;Ana;-12;2025-02-28\n1003;C3;Bob;0.99;2025-12-31\n")
    s = _run(tmp_path, _write(tmp_path / "legacy.csv", text, bom=True))
    assert s.verdict == "agree", s.counts
    assert s.legacy.header_line == 4 and s.legacy.delimiter == ";" and s.legacy.encoding == "utf-8-sig"
    notes = _texts(s)
    assert "skipped 3 line(s) above the header" in notes and "byte-order mark" in notes


def test_cp1252_with_euro_amounts_and_decimal_commas(tmp_path):
    text = ("account_id;customer;name;balance;opened\n"
            "1001;C1;Zoë Müller;1.234,50 €;2025-01-03\n1002;C2;Ana;-12,00 €;2025-02-28\n1003;C3;Bob;0,99 €;2025-12-31\n")
    s = _run(tmp_path, _write(tmp_path / "legacy.csv", text, encoding="cp1252"))
    assert s.verdict == "agree", [c for c in s.columns if c.differ]
    assert s.legacy.encoding == "cp1252"
    assert "decimal comma" in _texts(s) and "Windows-1252" in _texts(s)


def test_latin1_names_compare_equal_to_utf8(tmp_path):
    s = _run(tmp_path, _write(tmp_path / "legacy.csv", CLEAN, encoding="latin-1"))
    assert s.verdict == "agree"


def test_currency_thousands_separators_and_parentheses(tmp_path):
    text = ("account_id,customer,name,balance,opened\n"
            '1001,C1,Zoë Müller,"$1,234.50",2025-01-03\n1002,C2,Ana,($12.00),2025-02-28\n'
            "1003,C3,Bob,USD 0.99,2025-12-31\n")
    s = _run(tmp_path, _write(tmp_path / "legacy.csv", text))
    assert s.verdict == "agree", [c for c in s.columns if c.differ]
    balance = next(c for c in s.columns if c.column == "balance")
    assert balance.kind == "amount"


def test_amount_columns_by_name_and_by_content(tmp_path):
    text = "id,total_due,misc\n1,10,$5.00\n2,20.5,$6.00\n"
    migrated = "id,total_due,misc\n1,10,5\n2,20.5,6.5\n"
    s = _run(tmp_path, _write(tmp_path / "legacy.csv", text), migrated, key=("id",))
    kinds = {c.column: c.kind for c in s.columns}
    assert kinds == {"total_due": "amount", "misc": "amount"}
    assert s.amount_column == "total_due"
    misc = next(c for c in s.columns if c.column == "misc")
    assert misc.differ == 1 and misc.max_abs_difference == pytest.approx(0.5)


def test_dates_in_several_formats(tmp_path):
    text = ("account_id,customer,name,balance,opened\n"
            "1001,C1,Zoë Müller,1234.5,03/01/2025\n1002,C2,Ana,-12,28/02/2025\n1003,C3,Bob,0.99,31-Dec-2025\n")
    s = _run(tmp_path, _write(tmp_path / "legacy.csv", text))
    assert s.verdict == "agree", [c for c in s.columns if c.differ]
    assert "%d/%m/%Y" in _texts(s)


def test_ambiguous_day_month_is_said(tmp_path):
    text = "account_id,opened\n1,03/01/2025\n2,04/02/2025\n"
    s = _run(tmp_path, _write(tmp_path / "legacy.csv", text), "account_id,opened\n1,2025-01-03\n2,2025-02-04\n")
    assert s.verdict == "agree" and "ambiguous" in _texts(s)


@pytest.mark.parametrize("rules, lost", [("trim,case,zeros", 0), ("none", 3)])
def test_keys_normalised_as_configured(tmp_path, rules, lost):
    from backend.reconciliation import parse_key_rules

    text = ("account_id,customer,name,balance,opened\n"
            "  001001 ,C1,Zoë Müller,1234.5,2025-01-03\n001002,C2,Ana,-12,2025-02-28\n1003 ,C3,Bob,0.99,2025-12-31\n")
    migrated = CLEAN.replace("1001,", "1001,").replace("C1,", "C1,")
    s = _run(tmp_path, _write(tmp_path / "legacy.csv", text), migrated, key_rules=parse_key_rules(rules))
    assert s.counts.lost == lost and s.counts.unexpected == lost


def test_case_of_text_keys(tmp_path):
    s = _run(tmp_path, _write(tmp_path / "legacy.csv", "ref,v\nab-1,1\nAB-2,2\n"), "ref,v\nAB-1,1\nab-2,2\n",
             key=("ref",))
    assert s.verdict == "agree"


def test_composite_key(tmp_path):
    legacy = "region,acct,amount\nN,1,10\nS,1,20\nN,2,30\n"
    migrated = "Region,ACCT,Amount\nN,1,10\nS,1,25\nS,2,30\n"
    out = tmp_path / "out"
    s = reconcile(ReconcileOptions(legacy=_write(tmp_path / "l.csv", legacy), migrated=_write(tmp_path / "m.csv", migrated),
                                   key=("region", "acct")), out)
    assert (s.counts.matched, s.counts.lost, s.counts.unexpected, s.counts.with_differences) == (2, 1, 1, 1)
    assert s.key == ("region", "acct")
    lost = duckdb.execute("SELECT _key FROM read_parquet(?)", [str(out / "lost.parquet")]).fetchall()
    assert lost == [("N | 2",)]


def test_duplicate_keys_reported_with_their_rows(tmp_path):
    legacy = "id,v\n1,a\n2,b\n2,c\n3,d\n"
    migrated = "id,v\n1,a\n2,b\n3,d\n3,d\n"
    out = tmp_path / "out"
    s = reconcile(ReconcileOptions(legacy=_write(tmp_path / "l.csv", legacy), migrated=_write(tmp_path / "m.csv", migrated),
                                   key=("id",)), out)
    assert s.verdict == "differ"
    assert (s.counts.duplicate_keys_legacy, s.counts.duplicate_keys_migrated) == (1, 1)
    assert s.counts.matched == 1 and s.counts.lost == 0 and s.counts.unexpected == 0
    rows = duckdb.execute("SELECT _key, v FROM read_parquet(?) ORDER BY ALL",
                          [str(out / "duplicates_legacy.parquet")]).fetchall()
    assert rows == [("2", "b"), ("2", "c"), ("3", "d")]


def test_keys_repeated_on_one_side_only_and_missing_keys(tmp_path):
    # every common key occurs once per side: the join's counts alone find the one-sided repeats
    legacy = _write(tmp_path / "legacy.csv", "id,v\n1,a\n2,b\n4,x\n4,y\n,z\n")
    c = _run(tmp_path, legacy, "id,v\n1,a\n2,c\n3,d\n6,f\n6,f\n,w\n,w\n", key=("id",)).counts
    out = tmp_path / "out"
    assert (c.duplicate_keys_legacy, c.duplicate_keys_migrated, c.duplicate_rows_legacy, c.duplicate_rows_migrated) == (
        1, 1, 2, 2)
    assert (c.rows_without_key_legacy, c.rows_without_key_migrated) == (1, 2)
    assert (c.matched, c.lost, c.unexpected, c.with_differences) == (2, 0, 1, 1)
    rows = duckdb.execute("SELECT _key, v FROM read_parquet(?) ORDER BY ALL",
                          [str(out / "duplicates_migrated.parquet")]).fetchall()
    assert rows == [("6", "f"), ("6", "f")]
    assert duckdb.execute("SELECT v FROM read_parquet(?)", [str(out / "rows_without_key_legacy.parquet")]).fetchall() \
        == [("z",)]


def test_columns_matched_ignoring_case_and_punctuation(tmp_path):
    legacy = "Account ID;E-Mail Address;Opened On\n1;a@x;2025-01-01\n"
    migrated = "account_id,email_address,OPENED_ON\n1,a@y,2025-01-01\n"
    s = _run(tmp_path, _write(tmp_path / "legacy.csv", legacy), migrated, key=("accountid",))
    assert s.compared_columns == ("E-Mail Address", "Opened On")
    assert [c.differ for c in s.columns] == [1, 0]
    assert "matched to legacy column 'E-Mail Address'" in _texts(s)


@pytest.mark.parametrize("delim", ["\t", "|"])
def test_other_delimiters(tmp_path, delim):
    s = _run(tmp_path, _write(tmp_path / "legacy.csv", CLEAN.replace(",", delim)))
    assert s.verdict == "agree" and s.legacy.delimiter == delim


def test_reason_column_gives_the_reason_codes(tmp_path):
    legacy = "id,product,amount\n1,A,10\n2,A,20\n3,A,30\n4,B,40\n"
    migrated = "id,product,amount,reason_code\n1,B,10,MAP7\n2,B,20,MAP7\n3,A,31,FX\n4,B,40,\n"
    s = _run(tmp_path, _write(tmp_path / "legacy.csv", legacy), migrated, key=("id",))
    assert s.reason_column == "reason_code" and "reason_code" not in s.compared_columns
    assert {r.reason: (r.mismatches, r.amount) for r in s.reasons} == {"MAP7": (2, 0.0), "FX": (1, 1.0)}
