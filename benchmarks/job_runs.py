#!/usr/bin/env python3
"""Time the scheduled detection job (`cxw job detect`) as it runs in production: a full first run, a
re-run with no new data, and a run after one more day of orders arrives.

Generates the CX demo (``batching_policy``, seed 7, 29 days) at ``--orders``, holds back its last day,
then runs ``cxw job detect`` three times in fresh processes against a SQLite service database:

1. the first run (the whole history: cube, detection, explanation, recommendations, what-if models),
2. the same data again (nothing new: it should return quickly and store or post nothing),
3. after the held-back day is added (only the new buckets are scanned, with the history baselines need).

Prints wall and CPU seconds (user + system of the child process) and peak memory of each run, with the
load average, so a run on a shared machine can be read by its CPU time.

    python benchmarks/job_runs.py --orders 1000000 --work /tmp/cxw-job
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LAST_DAY = datetime(2026, 1, 29)


def hold_back_last_day(folder: Path) -> Path:
    """Rewrite ``orders/`` without the last day; return that day's orders as a separate Parquet file."""
    import duckdb

    orders, held = folder / "orders", folder / "last-day.parquet"
    con = duckdb.connect()
    source = f"read_parquet('{orders}/*.parquet')"
    con.execute(f"COPY (SELECT * FROM {source} WHERE created_at >= ?) TO '{held}' (FORMAT parquet)", [LAST_DAY])
    con.execute(f"COPY (SELECT * FROM {source} WHERE created_at < ?) TO '{folder}/history.parquet' (FORMAT parquet)",
                [LAST_DAY])
    con.close()
    shutil.rmtree(orders)
    orders.mkdir()
    (folder / "history.parquet").rename(orders / "part-0000.parquet")
    return held


def run_job(workspace: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall s, CPU s (user + system) and peak RSS (GB) of one `cxw job detect` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "backend.cli", "job", "detect", str(workspace), "--quiet"],
                   env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1e6


def stored(db: Path) -> tuple[int, int]:
    """Incidents stored and runs recorded in the service database."""
    with sqlite3.connect(db) as con:
        return (con.execute("SELECT count(*) FROM incident").fetchone()[0],
                con.execute("SELECT count(*) FROM run").fetchone()[0])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/cxw-job"))
    args = ap.parse_args(argv)

    from data.synthetic.cx import generate_cx

    if args.work.exists():
        shutil.rmtree(args.work)
    folder = args.work / "cx"
    started = time.perf_counter()
    generate_cx(args.orders, 29, 7, "batching_policy", folder)
    held = hold_back_last_day(folder)
    print(f"{args.orders:,} orders over 29 days generated in {time.perf_counter() - started:.1f} s; last day held back")
    db = args.work / "cxw.db"
    env = {**os.environ, "CXW_DATABASE_URL": f"sqlite:///{db}", "CXW_DATA_DIR": str(args.work / "service"),
           "PYTHONPATH": str(REPO)}
    workspace = folder / "workspace.yaml"
    rows = []
    for label in ("full run (28 days)", "no new data", "one new day"):
        if label == "one new day":
            shutil.copy(held, folder / "orders" / "part-0001.parquet")
        load = os.getloadavg()[0]
        wall, cpu, rss = run_job(workspace, env)
        incidents, runs = stored(db)
        rows.append((label, wall, cpu, rss, load, incidents))
        print(f"{label:20s} wall {wall:7.1f} s  CPU {cpu:7.1f} s  peak {rss:5.2f} GB  load {load:4.1f}  "
              f"incidents stored {incidents}")
    doc = json.loads((args.work / "service" / "runs" / "1" / "incidents.json").read_text())
    print(f"first run: {len(doc['incidents'])} incident(s), each with recommendations: "
          f"{all(e.get('recommendations') for e in doc['incidents'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
