"""A billing migration with a known answer: a legacy export, the migrated records, and ``truth.json``.

Twelve columns per account (account, customer, region, tariff, product, status, balance, deposit,
usage, last bill date, e-mail, segment). The migrated side differs from the legacy side by exactly:

* a **systematic** mapping error: every ``tariff=T3`` account in ``region=north`` with product
  ``GAS_STD`` has ``GAS_FIX`` after the migration;
* an **isolated** error: a random few ACTIVE accounts are SUSPENDED;
* balance changes on random accounts (each by at least 0.05), and changes of exactly 0.01 (inside a
  0.01 tolerance); e-mail addresses changed one by one;
* lost accounts (legacy only), unexpected accounts (migrated only), and accounts duplicated in the
  migrated data.

Every injected set is disjoint from the others, so each count is exact. With ``messy`` the legacy file
is what old systems export: two report lines above the header, semicolons, ``Account ID``-style
headers, zero-padded account numbers, ``$1,234.50`` / ``(12.00)`` amounts and day/month/year dates.
Data are built with numpy and written by DuckDB (no per-row Python), so millions of rows are quick.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from data.errors import UserError
from data.sources import sql_literal

REGIONS = ("north", "south", "east", "west")
TARIFFS = ("T1", "T2", "T3", "T4")
PRODUCTS = ("GAS_STD", "GAS_FIX", "ELEC_STD", "ELEC_GREEN", "DUAL")
STATUSES = ("ACTIVE", "CLOSED", "SUSPENDED")
SEGMENTS = ("residential", "business", "sme")
SYSTEMATIC = {"region": "north", "tariff": "T3"}
LEGACY_HEADER = ("Account ID", "Customer ID", "Region", "Tariff", "Product", "Status", "Balance", "Deposit",
                 "Usage kWh", "Last Bill Date", "E-mail", "Segment")


@dataclass(frozen=True)
class BillingTruth:
    """What the migration got wrong, account by account (account ids as integers)."""

    accounts: int
    seed: int
    legacy_file: str
    migrated_file: str
    lost: list[int]
    unexpected: list[int]
    duplicated: list[int]
    product_systematic: list[int]  # GAS_STD → GAS_FIX, every T3 account in north
    status_isolated: list[int]  # ACTIVE → SUSPENDED
    balance_changed: list[int]
    balance_deltas: list[float]
    balance_cent: list[int]  # changed by exactly 0.01
    email_changed: list[int]
    customers: dict[str, str]  # account id → customer id, for every account of either side
    balances: dict[str, float]  # account id → balance (legacy; migrated for unexpected accounts)


def _pick(rng: np.random.Generator, pool: np.ndarray, share: float, minimum: int = 1) -> np.ndarray:
    k = min(len(pool), max(minimum, int(round(share * len(pool)))))
    return np.sort(rng.choice(pool, size=k, replace=False))


def generate_billing(out: Path, accounts: int = 10_000, seed: int = 0, messy: bool = True,
                     fmt: str = "csv", share: float = 0.002) -> BillingTruth:
    """Write ``legacy.csv`` and ``migrated.csv`` (or ``.parquet``) and ``truth.json`` into ``out``.

    ``share`` is the fraction of accounts in each injected set (lost, unexpected, duplicated, status,
    balance, cent, e-mail); the systematic product error hits every GAS_STD account in T3 × north.
    """
    if accounts < 1000:
        raise UserError(f"--accounts {accounts}: at least 1000 accounts")
    if fmt not in ("csv", "parquet"):
        raise UserError(f"--format {fmt!r}: expected csv or parquet")
    rng = np.random.default_rng(seed)
    n = accounts
    ids = np.arange(100_001, 100_001 + n, dtype=np.int64)
    region = rng.integers(0, 4, n)
    tariff = rng.integers(0, 4, n)
    product = rng.choice(5, n, p=[0.35, 0.15, 0.25, 0.15, 0.10])
    status = rng.choice(3, n, p=[0.85, 0.10, 0.05])
    cols = {
        "account_id": ids, "customer_id": np.char.add("C", np.char.zfill((ids // 2).astype(str), 7)),
        "region": np.array(REGIONS)[region], "tariff": np.array(TARIFFS)[tariff],
        "product": np.array(PRODUCTS)[product], "status": np.array(STATUSES)[status],
        "balance": np.round(rng.gamma(2.0, 150.0, n) * np.where(rng.random(n) < 0.1, -1, 1), 2),
        "deposit": np.round(rng.uniform(0, 200, n), 2), "usage_kwh": rng.integers(50, 5000, n),
        "last_bill_date": np.datetime64("2025-01-01") + rng.integers(0, 365, n).astype("timedelta64[D]"),
        "email": np.char.add(np.char.add("user", ids.astype(str)), "@example.com"),
        "segment": np.array(SEGMENTS)[rng.choice(3, n, p=[0.7, 0.2, 0.1])],
    }
    systematic = np.flatnonzero((region == 0) & (tariff == 2) & (product == 0))
    free = np.setdiff1d(np.arange(n), systematic)
    picked = {}
    for name in ("lost", "duplicated", "status", "balance", "cent", "email"):
        pool = free if name != "status" else np.intersect1d(free, np.flatnonzero(status == 0))
        picked[name] = _pick(rng, pool, share)
        free = np.setdiff1d(free, picked[name])
    legacy = {k: v.copy() for k, v in cols.items()}
    migrated = {k: v.copy() for k, v in cols.items()}
    migrated["product"][systematic] = "GAS_FIX"
    migrated["status"][picked["status"]] = "SUSPENDED"
    deltas = np.round(rng.uniform(0.05, 50.0, len(picked["balance"])) * rng.choice([-1, 1], len(picked["balance"])), 2)
    migrated["balance"][picked["balance"]] = np.round(migrated["balance"][picked["balance"]] + deltas, 2)
    migrated["balance"][picked["cent"]] = np.round(migrated["balance"][picked["cent"]] + 0.01, 2)
    migrated["email"] = migrated["email"].astype(object)
    for i in picked["email"]:
        migrated["email"][i] = f"changed.{ids[i]}@example.org"
    keep = np.setdiff1d(np.arange(n), picked["lost"])
    order = np.concatenate([keep, picked["duplicated"]])
    migrated = {k: v[order] for k, v in migrated.items()}
    n_new = len(picked["lost"])
    new_ids = np.arange(100_001 + n, 100_001 + n + n_new, dtype=np.int64)
    extra = {k: v[rng.integers(0, n, n_new)].copy() for k, v in cols.items()}
    extra["account_id"] = new_ids
    extra["customer_id"] = np.char.add("C", np.char.zfill((new_ids // 2).astype(str), 7))
    extra["email"] = np.char.add(np.char.add("user", new_ids.astype(str)), "@example.com")
    migrated = {k: np.concatenate([migrated[k], extra[k]]) for k in migrated}
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    legacy_name, migrated_name = f"legacy.{fmt}", f"migrated.{fmt}"
    _write(_arrow(legacy), tmp / legacy_name, fmt, messy)
    _write(_arrow(migrated), tmp / migrated_name, fmt, False)
    customers = {str(i): c for i, c in zip(cols["account_id"], cols["customer_id"])}
    customers.update({str(i): c for i, c in zip(extra["account_id"], extra["customer_id"])})
    balances = {str(i): float(b) for i, b in zip(cols["account_id"], cols["balance"])}
    balances.update({str(i): float(b) for i, b in zip(extra["account_id"], extra["balance"])})
    truth = BillingTruth(
        accounts=n, seed=seed, legacy_file=legacy_name, migrated_file=migrated_name,
        lost=ids[picked["lost"]].tolist(), unexpected=new_ids.tolist(), duplicated=ids[picked["duplicated"]].tolist(),
        product_systematic=ids[systematic].tolist(), status_isolated=ids[picked["status"]].tolist(),
        balance_changed=ids[picked["balance"]].tolist(), balance_deltas=deltas.tolist(),
        balance_cent=ids[picked["cent"]].tolist(), email_changed=ids[picked["email"]].tolist(),
        customers=customers, balances=balances)
    (tmp / "truth.json").write_text(json.dumps(asdict(truth)), encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return truth


def _arrow(cols: dict[str, np.ndarray]) -> pa.Table:
    return pa.table({k: pa.array(v.tolist() if v.dtype == object else v) for k, v in cols.items()})


def _write(table: pa.Table, path: Path, fmt: str, messy: bool) -> None:
    con = duckdb.connect()
    con.register("t", table)
    if fmt == "parquet":
        con.execute(f"COPY t TO {sql_literal(str(path))} (FORMAT parquet)")
        return
    if not messy:
        con.execute(f"COPY t TO {sql_literal(str(path))} (FORMAT csv, HEADER true)")
        return
    money = ("CASE WHEN {c} < 0 THEN '(' || format('{{:,.2f}}', -{c}) || ')' ELSE '$' || format('{{:,.2f}}', {c}) END")
    select = (
        "SELECT printf('%010d', account_id), customer_id, region, tariff, product, status, "
        f"{money.format(c='balance')}, {money.format(c='deposit')}, usage_kwh, strftime(last_bill_date, '%d/%m/%Y'), "
        "email, segment FROM t")
    body = path.with_name(path.name + ".body")
    con.execute(f"COPY ({select}) TO {sql_literal(str(body))} (FORMAT csv, HEADER false, DELIMITER ';', QUOTE '\"')")
    with path.open("wb") as dst, body.open("rb") as src:
        dst.write(b"Legacy billing system - account export\nExported 2026-01-05 by batch job 42\n")
        dst.write((";".join(LEGACY_HEADER) + "\n").encode())
        shutil.copyfileobj(src, dst, 16 << 20)
    body.unlink()
