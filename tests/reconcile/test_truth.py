"""`cxw reconcile` on generated billing migrations: every count, key, customer, amount and pattern against truth."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from backend.cli import main
from backend.reconciliation import ReconcileOptions, reconcile
from data.synthetic.billing import generate_billing

ACCOUNTS = 5000
SHARE = 0.004


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, object]:
    folder = tmp_path_factory.mktemp("billing") / "pair"
    truth = generate_billing(folder, ACCOUNTS, seed=3, share=SHARE)
    return folder, truth


@pytest.fixture(scope="module")
def run(pair, tmp_path_factory):
    folder, truth = pair
    out = tmp_path_factory.mktemp("run") / "out"
    summary = reconcile(ReconcileOptions(legacy=folder / "legacy.csv", migrated=folder / "migrated.csv",
                                         key=("account_id",), tolerances={"balance": 0.01}), out)
    return out, summary, truth


def _keys(ids) -> set[str]:
    return {str(i) for i in ids}


def _pattern_keys(out: Path, label: str) -> set[str]:
    rows = duckdb.execute("SELECT _key FROM read_parquet(?) WHERE pattern = ?",
                          [str(out / "pattern_records.parquet"), label]).fetchall()
    return {r[0] for r in rows}


def _finding(summary, label):
    return next(f for f in summary.findings if f.pattern.label == label)


def test_counts_match_truth(run):
    out, s, t = run
    c = s.counts
    assert s.verdict == "differ"
    assert c.legacy_rows == ACCOUNTS
    assert c.migrated_rows == ACCOUNTS - len(t.lost) + len(t.duplicated) + len(t.unexpected)
    assert c.lost == len(t.lost) and c.unexpected == len(t.unexpected)
    assert c.duplicate_keys_legacy == 0 and c.duplicate_keys_migrated == len(t.duplicated)
    assert c.duplicate_rows_legacy == len(t.duplicated) and c.duplicate_rows_migrated == 2 * len(t.duplicated)
    assert c.matched == ACCOUNTS - len(t.lost) - len(t.duplicated)
    changed = _keys(t.product_systematic) | _keys(t.status_isolated) | _keys(t.balance_changed) | _keys(t.email_changed)
    assert c.with_differences == len(changed)  # the 0.01 balance changes are inside the tolerance
    assert c.identical == c.matched - len(changed)
    assert not any("64-bit hash" in a.text for a in s.assumptions)  # the sides are written differently: all parsed


def test_every_pattern_holds_exactly_its_records(run):
    out, s, t = run
    assert {f.pattern.label for f in s.findings} == {
        "Product: GAS_STD → GAS_FIX", "Status: ACTIVE → SUSPENDED", "Balance: increased", "Balance: decreased",
        "E-mail: other changes", "record lost", "record unexpected"}
    up = {str(i) for i, d in zip(t.balance_changed, t.balance_deltas) if d > 0}
    down = {str(i) for i, d in zip(t.balance_changed, t.balance_deltas) if d < 0}
    expected = {"Product: GAS_STD → GAS_FIX": _keys(t.product_systematic),
                "Status: ACTIVE → SUSPENDED": _keys(t.status_isolated), "Balance: increased": up,
                "Balance: decreased": down, "E-mail: other changes": _keys(t.email_changed),
                "record lost": _keys(t.lost), "record unexpected": _keys(t.unexpected)}
    for label, keys in expected.items():
        assert _pattern_keys(out, label) == keys, label
        f = _finding(s, label)
        assert f.pattern.records == len(keys)
        assert f.pattern.customers == len({t.customers[k] for k in keys})


def test_systematic_and_isolated_patterns_are_told_apart(run):
    _, s, t = run
    product = _finding(s, "Product: GAS_STD → GAS_FIX")
    assert product.pattern.classification == "systematic"
    top = product.pattern.slices[0]
    assert top.slice == "Region=north&Tariff=T3"
    assert top.affected == len(t.product_systematic) and top.share == 1.0 and top.rest_affected == 0
    assert product.cause.cause == "mapping rule" and product.cause.scope == "Region=north&Tariff=T3"
    for label in ("Status: ACTIVE → SUSPENDED", "record lost", "record unexpected", "E-mail: other changes"):
        assert _finding(s, label).pattern.classification == "isolated", label


def test_amounts_match_truth(run):
    out, s, t = run
    lost_amount = sum(t.balances[str(i)] for i in t.lost)
    new_amount = sum(t.balances[str(i)] for i in t.unexpected)
    assert _finding(s, "record lost").pattern.amount == pytest.approx(lost_amount, abs=1e-6)
    assert _finding(s, "record unexpected").pattern.amount == pytest.approx(new_amount, abs=1e-6)
    balance = next(a for a in s.amounts if a.column == "Balance")
    assert balance.missing == pytest.approx(lost_amount, abs=1e-6)
    assert balance.unexpected == pytest.approx(new_amount, abs=1e-6)
    assert balance.changed_net == pytest.approx(sum(t.balance_deltas), abs=1e-6)
    assert balance.changed_abs == pytest.approx(sum(abs(d) for d in t.balance_deltas), abs=1e-6)
    assert balance.legacy_total - balance.missing + balance.unexpected + balance.changed_net == pytest.approx(
        balance.migrated_total - 0.01 * len(t.balance_cent), abs=1e-6)


def test_impacted_customers_match_truth(run):
    out, s, t = run
    per_pattern = {"Product: GAS_STD → GAS_FIX": t.product_systematic, "Status: ACTIVE → SUSPENDED": t.status_isolated,
                   "E-mail: other changes": t.email_changed, "record lost": t.lost,
                   "record unexpected": t.unexpected}
    everyone = {t.customers[str(i)] for ids in [*per_pattern.values(), t.balance_changed] for i in ids}
    rows = duckdb.execute("SELECT customer FROM read_csv(?, all_varchar=true)",
                          [str(out / "impacted_customers.csv")]).fetchall()
    assert {r[0] for r in rows} == everyone and len(rows) == len(everyone)
    assert s.counts.impacted_customers == len(everyone)
    by_pattern = duckdb.execute("SELECT pattern, customer FROM read_csv(?, all_varchar=true)",
                                [str(out / "impacted_customers_by_pattern.csv")]).fetchall()
    for label, ids in per_pattern.items():
        assert {c for p, c in by_pattern if p == label} == {t.customers[str(i)] for i in ids}, label


def test_reason_codes_column_stats_and_exports(run):
    out, s, t = run
    reasons = {r.reason: r.mismatches for r in s.reasons}
    assert reasons == {f.pattern.label: f.pattern.mismatches for f in s.findings}
    product = next(c for c in s.columns if c.column == "Product")
    assert product.differ == len(t.product_systematic)
    assert product.match_rate == pytest.approx(1 - len(t.product_systematic) / s.counts.matched)
    balance = next(c for c in s.columns if c.column == "Balance")
    assert balance.differ == len(t.balance_changed)
    assert balance.max_abs_difference == pytest.approx(max(abs(d) for d in t.balance_deltas), abs=1e-9)
    lost = duckdb.execute("SELECT count(*) FROM read_parquet(?)", [str(out / "lost.parquet")]).fetchone()[0]
    dups = duckdb.execute("SELECT count(*) FROM read_parquet(?)", [str(out / "duplicates_migrated.parquet")]).fetchone()[0]
    diffs = duckdb.execute("SELECT count(*) FROM read_parquet(?)", [str(out / "differences.parquet")]).fetchone()[0]
    assert (lost, dups) == (len(t.lost), 2 * len(t.duplicated))
    assert diffs == sum(c.differ for c in s.columns)
    assert json.loads((out / "summary.json").read_text())["counts"]["lost"] == len(t.lost)
    for name in ("report.md", "report.pdf", "mismatches_by_reason.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "report.pdf").read_bytes()[:4] == b"%PDF"
    assert "Region=north and Tariff=T3" in (out / "report.md").read_text()


def test_without_tolerance_the_cent_changes_differ(pair, tmp_path):
    folder, t = pair
    s = reconcile(ReconcileOptions(legacy=folder / "legacy.csv", migrated=folder / "migrated.csv", key=("account_id",),
                                   compare=("balance",)), tmp_path / "out")
    assert s.compared_columns == ("Balance",)
    assert s.columns[0].differ == len(t.balance_changed) + len(t.balance_cent)


def test_cli_exit_codes(pair, tmp_path):
    folder, _ = pair
    args = ["reconcile", "--legacy", str(folder / "legacy.csv"), "--key", "account_id"]
    assert main(args + ["--migrated", str(folder / "migrated.csv"), "--out", str(tmp_path / "a")]) == 1
    assert main(args + ["--migrated", str(folder / "legacy.csv"), "--out", str(tmp_path / "b")]) == 0


def test_parquet_pair_gives_the_same_answer(tmp_path):
    truth = generate_billing(tmp_path / "pq", 2000, seed=5, fmt="parquet", share=SHARE)
    s = reconcile(ReconcileOptions(legacy=tmp_path / "pq" / "legacy.parquet", migrated=tmp_path / "pq" / "migrated.parquet",
                                   key=("account_id",), tolerances={"balance": 0.01}), tmp_path / "out")
    assert (s.counts.lost, s.counts.unexpected) == (len(truth.lost), len(truth.unexpected))
    changed = (_keys(truth.product_systematic) | _keys(truth.status_isolated) | _keys(truth.balance_changed)
               | _keys(truth.email_changed))
    assert s.counts.with_differences == len(changed)  # raw values joined first: only differing keys are parsed
    assert any("64-bit hash" in a.text for a in s.assumptions)  # ... by their hashes, as the summary says
    assert _pattern_keys(tmp_path / "out", "product: GAS_STD → GAS_FIX") == _keys(truth.product_systematic)
    assert s.legacy.format == "parquet"


def test_previous_run_resolved_new_persisting(pair, run, tmp_path):
    folder, t = pair
    first_out, first, _ = run
    fixed = tmp_path / "fixed.csv"
    ids = ", ".join(str(i) for i in t.product_systematic)
    duckdb.execute(f"COPY (SELECT * REPLACE (CASE WHEN account_id IN ({ids}) THEN 'GAS_STD' ELSE product END AS product) "
                   f"FROM read_csv(?)) TO '{fixed}' (FORMAT csv, HEADER true)", [str(folder / "migrated.csv")])
    s = reconcile(ReconcileOptions(legacy=folder / "legacy.csv", migrated=fixed, key=("account_id",),
                                   tolerances={"balance": 0.01}, previous=first_out), tmp_path / "second")
    pv = s.previous
    assert pv.patterns.resolved == ("Product: GAS_STD → GAS_FIX",) and pv.patterns.new == ()
    assert set(pv.patterns.persisting) == {f.pattern.label for f in first.findings} - {"Product: GAS_STD → GAS_FIX"}
    others = {t.customers[str(i)] for ids_ in (t.status_isolated, t.email_changed, t.lost, t.unexpected, t.balance_changed)
              for i in ids_}
    product_customers = {t.customers[str(i)] for i in t.product_systematic}
    assert pv.customers.resolved == len(product_customers - others)
    assert pv.customers.persisting == len(others) and pv.customers.new == 0
    change = next(c for c in pv.by_pattern if c.pattern == "Product: GAS_STD → GAS_FIX")
    assert change.status == "resolved" and change.customers.resolved == len(product_customers)
