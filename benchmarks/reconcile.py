"""Reconciliation speed: `cxw reconcile` (DuckDB, full report) against datacompy (Polars and pandas backends)
and against itself with the joins on Spark local mode (`--engine spark`).

Run by hand:

    python3 -m venv .venv-bench && .venv-bench/bin/pip install -r benchmarks/requirements.txt
    PYTHONPATH=. .venv/bin/python benchmarks/reconcile.py --rows 10000000 --bench-python .venv-bench/bin/python

One run generates a legacy/migrated Parquet pair in DuckDB (12 columns; about 1 % of the records differ,
with every kind of difference: lost, unexpected, text values changed, numbers changed beyond the
tolerance, numbers changed inside it, a value missing on one side, dates moved), then times each tool
on the same files in its own process (one after the other, so they never share the cores) and checks
that each finds exactly the injected differences: lost and unexpected counts, and per column the
number of records that differ. The engine's figure includes the whole report (patterns localized,
impacted customers, exports, Markdown, PDF, chart); datacompy's includes building the comparison and
its text report. datacompy needs pandas < 3.1, so it runs in a separate venv (`benchmarks/requirements.txt`).
The Spark run starts its own local session (``local[*]``, JVM start included in its figures); its CPU
time adds the JVM's (every descendant process, read from /proc before the worker exits).
Peak memory is each process's maximum resident set size and CPU time its user + system time (`wait4`),
printed beside wall time with the load average around each run: on a shared machine the CPU seconds
and the ratios within one run are the figures to compare. `--keep DIR` keeps the pair in DIR and reuses
it on the next run with the same `--rows`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOLERANCE = 0.01
# bucket = (account_id * 2654435761) % 10000: which difference a record gets (per 10,000 records)
KINDS = {  # name: (first bucket, last bucket + 1, column it changes)
    "lost": (0, 15, None), "product": (15, 30, "product"), "status": (30, 45, "status"),
    "balance": (45, 60, "balance"), "balance_inside_tolerance": (60, 70, None), "email_missing": (70, 80, "email"),
    "date_moved": (80, 90, "last_bill_date"), "deposit": (90, 100, "deposit"),
}
UNEXPECTED_PER_10K = 15
COLUMNS = ["account_id", "customer_id", "region", "tariff", "product", "status", "segment", "balance", "deposit",
           "usage_kwh", "last_bill_date", "email"]


def generate(folder: Path, rows: int) -> dict:
    """Write legacy.parquet and migrated.parquet; return the expected findings."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    bucket = "((i * 2654435761) % 10000)"
    base = (
        f"SELECT i AS account_id, 'C' || lpad(CAST(i // 2 AS VARCHAR), 9, '0') AS customer_id, "
        "['north','south','east','west'][1 + (i * 7) % 4] AS region, ['T1','T2','T3','T4'][1 + (i * 13 // 3) % 4] AS tariff, "
        "['GAS_STD','GAS_FIX','ELEC_STD','ELEC_GREEN','DUAL'][1 + (i * 31 // 7) % 5] AS product, "
        "['ACTIVE','CLOSED','SUSPENDED'][1 + (i * 17 // 5) % 3] AS status, "
        "['residential','business','sme'][1 + (i * 11 // 13) % 3] AS segment, "
        "round(((i * 48271) % 100000) / 100.0 - 100, 2) AS balance, round(((i * 69621) % 20000) / 100.0, 2) AS deposit, "
        "CAST((i * 16807) % 5000 AS BIGINT) AS usage_kwh, DATE '2025-01-01' + CAST((i * 7919) % 365 AS INTEGER) AS last_bill_date, "
        f"'user' || i || '@example.com' AS email, {bucket} AS b FROM range(1, {rows + 1}) t(i)")
    con.execute(f"CREATE TABLE legacy AS {base}")
    k = KINDS
    migrated = (
        "SELECT account_id, customer_id, region, tariff, "
        f"CASE WHEN b >= {k['product'][0]} AND b < {k['product'][1]} THEN "
        "(CASE WHEN product = 'GAS_STD' THEN 'GAS_FIX' ELSE 'GAS_STD' END) ELSE product END AS product, "
        f"CASE WHEN b >= {k['status'][0]} AND b < {k['status'][1]} THEN "
        "(CASE WHEN status = 'SUSPENDED' THEN 'ACTIVE' ELSE 'SUSPENDED' END) ELSE status END AS status, segment, "
        f"CASE WHEN b >= {k['balance'][0]} AND b < {k['balance'][1]} THEN balance + 5.25 "
        f"WHEN b >= {k['balance_inside_tolerance'][0]} AND b < {k['balance_inside_tolerance'][1]} THEN balance + 0.005 "
        "ELSE balance END AS balance, "
        f"CASE WHEN b >= {k['deposit'][0]} AND b < {k['deposit'][1]} THEN round(deposit * 1.1 + 1, 2) ELSE deposit END AS deposit, "
        "usage_kwh, "
        f"CASE WHEN b >= {k['date_moved'][0]} AND b < {k['date_moved'][1]} THEN last_bill_date + 1 ELSE last_bill_date END "
        "AS last_bill_date, "
        f"CASE WHEN b >= {k['email_missing'][0]} AND b < {k['email_missing'][1]} THEN NULL ELSE email END AS email "
        f"FROM legacy WHERE b >= {k['lost'][1]}")
    n_new = rows * UNEXPECTED_PER_10K // 10_000
    extra = (f"SELECT * EXCLUDE (b) REPLACE (account_id + {rows} AS account_id) FROM legacy "
             f"WHERE account_id <= {n_new}")
    con.execute(f"COPY (SELECT * EXCLUDE (b) FROM legacy) TO '{folder / 'legacy.parquet'}' (FORMAT parquet)")
    con.execute(f"COPY ({migrated} UNION ALL {extra}) TO '{folder / 'migrated.parquet'}' (FORMAT parquet)")
    counts = dict(con.execute(
        "SELECT 'x', 0 UNION ALL " + " UNION ALL ".join(
            f"SELECT '{name}', count(*) FROM legacy WHERE b >= {lo} AND b < {hi}" for name, (lo, hi, _) in KINDS.items())
    ).fetchall())
    expected_columns = {c: 0 for c in COLUMNS if c != "account_id"}
    for name, (_, _, column) in KINDS.items():
        if column:
            expected_columns[column] = counts[name]
    return {"rows": rows, "lost": counts["lost"], "unexpected": n_new, "columns": expected_columns}


def _run_worker(python: str, mode: str, folder: Path, threads: int, memory: str) -> dict:
    """Run one tool in its own process; its JSON result plus wall time and peak RSS."""
    cmd = [python, str(Path(__file__).resolve()), "--worker", mode, "--folder", str(folder), "--threads", str(threads),
           "--memory-limit", memory]
    env = dict(os.environ, POLARS_MAX_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, cwd=Path(__file__).resolve().parents[1])
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        return {"tool": mode, "error": f"exit {os.waitstatus_to_exitcode(status)}", "wall_s": wall}
    result = json.loads(out.decode().strip().splitlines()[-1])
    result.update(wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime + result.get("jvm_cpu_s", 0.0),
                  peak_rss_mb=usage.ru_maxrss / 1024,
                  load=(round(load_before, 1), round(os.getloadavg()[0], 1)))
    return result


def descendants_cpu(pid: int) -> float:
    """User + system CPU seconds of every live descendant of ``pid`` (the Spark JVM), from /proc."""
    total, todo, tick = 0.0, [pid], os.sysconf("SC_CLK_TCK")
    while todo:
        p = todo.pop()
        try:
            if p != pid:
                fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14 and 15)
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return total


def worker_engine(folder: Path, threads: int, memory: str, engine: str = "duckdb") -> dict:
    t0 = time.perf_counter()
    from backend.reconciliation import ReconcileOptions, reconcile

    t1 = time.perf_counter()
    summary = reconcile(ReconcileOptions(
        legacy=folder / "legacy.parquet", migrated=folder / "migrated.parquet", key=("account_id",),
        tolerances={"balance": TOLERANCE}, memory_limit=memory, threads=threads, engine=engine),
        folder / f"{engine}_out")
    t2 = time.perf_counter()
    name = "cxw reconcile (DuckDB, full report)" if engine == "duckdb" else "cxw reconcile --engine spark (local)"
    return {"tool": name, "import_s": t1 - t0, "compare_s": t2 - t1, "jvm_cpu_s": descendants_cpu(os.getpid()),
            "lost": summary.counts.lost, "unexpected": summary.counts.unexpected,
            "columns": {c.column: c.differ for c in summary.columns},
            "patterns": len(summary.findings), "systematic": sum(f.pattern.classification == "systematic"
                                                                 for f in summary.findings)}


def worker_datacompy(folder: Path, backend: str) -> dict:
    t0 = time.perf_counter()
    import datacompy

    t1 = time.perf_counter()
    if backend == "polars":
        import polars as pl
        from datacompy.polars import PolarsCompare

        a, b = pl.read_parquet(folder / "legacy.parquet"), pl.read_parquet(folder / "migrated.parquet")
        cmp = PolarsCompare(a, b, join_columns="account_id", abs_tol={"balance": TOLERANCE})
    else:
        import pandas as pd

        a, b = pd.read_parquet(folder / "legacy.parquet"), pd.read_parquet(folder / "migrated.parquet")
        cmp = datacompy.PandasCompare(a, b, join_columns="account_id", abs_tol={"balance": TOLERANCE})
    t2 = time.perf_counter()
    cmp.report()
    t3 = time.perf_counter()
    return {"tool": f"datacompy {datacompy.__version__} ({backend})", "import_s": t1 - t0, "compare_s": t3 - t1,
            "report_s": t3 - t2, "lost": len(cmp.df1_unq_rows), "unexpected": len(cmp.df2_unq_rows),
            "columns": {s["column"]: int(s["unequal_cnt"]) for s in cmp.column_stats if s["column"] != "account_id"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="4GB", help="DuckDB memory limit of the engine (it spills beyond)")
    parser.add_argument("--bench-python", default=".venv-bench/bin/python", help="python of the datacompy venv")
    parser.add_argument("--skip", action="append", default=[], help="engine, spark, polars or pandas")
    parser.add_argument("--keep", type=Path, help="keep the generated pair in this folder")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = (worker_engine(args.folder, args.threads, args.memory_limit) if args.worker == "engine"
                  else worker_engine(args.folder, args.threads, args.memory_limit, "spark") if args.worker == "spark"
                  else worker_datacompy(args.folder, args.worker))
        print(json.dumps(result))
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="cxw-bench-reconcile-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        t = time.perf_counter()
        kept = folder / "expected.json"
        expected = json.loads(kept.read_text()) if kept.is_file() else None
        if expected is not None and expected["rows"] == args.rows:
            print(f"reusing the pair in {folder}", end="; ")
        else:
            expected = generate(folder, args.rows)
            kept.write_text(json.dumps(expected))
            print(f"generated {args.rows:,} × {len(COLUMNS)} columns per side in {time.perf_counter() - t:.1f} s",
                  end="; ")
        print(f"expected: lost {expected['lost']:,}, unexpected {expected['unexpected']:,}, per column "
              f"{expected['columns']}", flush=True)
        results = []
        for mode in ("engine", "spark", "polars", "pandas"):
            if mode in args.skip:
                continue
            python = sys.executable if mode in ("engine", "spark") else args.bench_python
            r = _run_worker(python, mode, folder, args.threads, args.memory_limit)
            if "error" not in r:
                r["correct"] = (r["lost"] == expected["lost"] and r["unexpected"] == expected["unexpected"]
                                and {k.lower().replace(" ", "_"): v for k, v in r["columns"].items()}
                                == expected["columns"])
            results.append(r)
            print(json.dumps(r), flush=True)
        base = next((r for r in results if "polars" in r["tool"] and "error" not in r), None)
        print(f"\n{args.rows:,} × {args.rows:,} records, {len(COLUMNS)} columns, threads {args.threads}, "
              f"engine DuckDB memory limit {args.memory_limit}")
        print(f"{'tool':44s} {'compare s':>10s} {'wall s':>8s} {'CPU s':>7s} {'peak MB':>8s} {'load':>11s} "
              f"{'vs polars (wall)':>16s} {'(CPU)':>6s} correct")
        for r in results:
            if "error" in r:
                print(f"{r['tool']:44s} failed: {r['error']}")
                continue
            ratio = f"{base['compare_s'] / r['compare_s']:.2f}x" if base else "-"
            cpu_ratio = f"{base['cpu_s'] / r['cpu_s']:.2f}x" if base else "-"
            load = f"{r['load'][0]:.1f}-{r['load'][1]:.1f}"
            print(f"{r['tool']:44s} {r['compare_s']:10.1f} {r['wall_s']:8.1f} {r['cpu_s']:7.1f} {r['peak_rss_mb']:8.0f} "
                  f"{load:>11s} {ratio:>16s} {cpu_ratio:>6s} {r['correct']}")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
