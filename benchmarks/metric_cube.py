"""Benchmark: the project's metric cube against pandas and against one hand-written DuckDB query.

    python benchmarks/metric_cube.py [--orders 10000000] [--data DIR] [--repeat 1]

Generates (or reuses, with ``--data``) CX orders, then builds the same cube — hour grain, five
dimensions, depth 2, every metric of the demo workspace, written as long Parquet — three ways, each in
a fresh process so peak memory is that variant's own:

* ``ours``: ``metrics.cube.build_cube`` (validation, compiled GROUPING SETS query, long Parquet);
* ``sql``: one GROUPING SETS query written by hand for this workspace, same output;
* ``pandas``: ``DataFrame.groupby`` over every grouping set (the records loaded into pandas).

Prints wall seconds and peak RSS for each and the ratios. Targets (issue 2): ours ≥ 10× faster than
pandas, ≤ 1.3× the hand-written query, peak memory < 4 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DIMS = ["basket_bucket", "category", "channel", "region", "store_id"]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(data: Path, out: Path) -> None:
    from data.sources import open_workspace
    from metrics.cube import build_cube

    build_cube(open_workspace(data / "workspace.yaml"), out, depth=2)


HAND_WRITTEN = """
CREATE TEMP TABLE agg AS
SELECT date_trunc('hour', created_at) AS ts,
       coalesce(nullif(concat_ws('&',
         CASE WHEN grouping(basket_bucket) = 0 THEN 'basket_bucket=' || basket_bucket END,
         CASE WHEN grouping(category) = 0 THEN 'category=' || category END,
         CASE WHEN grouping(channel) = 0 THEN 'channel=' || channel END,
         CASE WHEN grouping(region) = 0 THEN 'region=' || region END,
         CASE WHEN grouping(store_id) = 0 THEN 'store_id=' || store_id END), ''), '*') AS slice,
       count(*) AS n,
       sum(CASE WHEN delivered_at <= promised_at THEN 1 ELSE 0 END) AS ot_num,
       count(delivered_at <= promised_at) AS ot_den,
       sum(CAST(item_accurate AS INT)) AS ia_num, count(item_accurate) AS ia_den,
       sum(CAST(cancelled AS INT)) AS ca_num, count(cancelled) AS ca_den,
       sum(CAST(support_contact AS INT)) AS su_num, count(support_contact) AS su_den,
       sum(refund_amount) AS rf_num, count(refund_amount) AS rf_den, sum(refund_amount * refund_amount) AS rf_sq,
       sum(delivery_minutes) AS dm_num, count(delivery_minutes) AS dm_den,
       sum(delivery_minutes * delivery_minutes) AS dm_sq,
       sum(courier_minutes) AS cm_num, count(courier_minutes) AS cm_den, sum(courier_minutes * courier_minutes) AS cm_sq
FROM read_parquet('{files}')
GROUP BY GROUPING SETS ({sets});
COPY (
  SELECT ts, slice, 'on_time_rate' AS metric, ot_num / nullif(ot_den, 0) AS value, ot_num AS numerator,
         ot_den AS denominator, n, ot_num AS num_sq, ot_den AS den_sq, ot_num AS num_den FROM agg
  UNION ALL SELECT ts, slice, 'item_accuracy', ia_num / nullif(ia_den, 0), ia_num, ia_den, n, ia_num, ia_den, ia_num FROM agg
  UNION ALL SELECT ts, slice, 'cancellation_rate', ca_num / nullif(ca_den, 0), ca_num, ca_den, n, ca_num, ca_den, ca_num FROM agg
  UNION ALL SELECT ts, slice, 'support_rate', su_num / nullif(su_den, 0), su_num, su_den, n, su_num, su_den, su_num FROM agg
  UNION ALL SELECT ts, slice, 'refund_per_order', rf_num / nullif(rf_den, 0), rf_num, rf_den, n, rf_sq, rf_den, rf_num FROM agg
  UNION ALL SELECT ts, slice, 'avg_delivery_minutes', dm_num / nullif(dm_den, 0), dm_num, dm_den, n, dm_sq, dm_den, dm_num FROM agg
  UNION ALL SELECT ts, slice, 'courier_minutes_per_order', cm_num / nullif(cm_den, 0), cm_num, cm_den, n, cm_sq, cm_den, cm_num FROM agg
  UNION ALL SELECT ts, slice, 'cx_score',
         0.4 * ot_num / nullif(ot_den, 0) + 0.3 * ia_num / nullif(ia_den, 0)
         + 0.15 * (1 - ca_num / nullif(ca_den, 0)) + 0.15 * (1 - su_num / nullif(su_den, 0)),
         NULL, 1.0, n, NULL, NULL, NULL FROM agg
) TO '{out}' (FORMAT parquet, COMPRESSION snappy);
"""


def run_sql(data: Path, out: Path) -> None:
    import duckdb

    sets = ", ".join("(" + ", ".join(["ts", *c]) + ")" for k in range(3) for c in combinations(DIMS, k))
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    out.mkdir(parents=True, exist_ok=True)
    con.execute(HAND_WRITTEN.format(files=str(data / "orders" / "*.parquet"), sets=sets,
                                    out=str(out / "cube.parquet")))


def run_pandas(data: Path, out: Path) -> None:
    import numpy as np
    import pandas as pd

    cols = ["created_at", *DIMS, "delivered_at", "promised_at", "item_accurate", "cancelled", "support_contact",
            "refund_amount", "delivery_minutes", "courier_minutes"]
    df = pd.read_parquet(data / "orders", columns=cols)
    df["ts"] = df["created_at"].dt.floor("h")
    on_time = (df["delivered_at"] <= df["promised_at"]).astype(float).where(df["delivered_at"].notna())
    values = {
        "on_time_rate": on_time, "item_accuracy": df["item_accurate"].astype(float),
        "cancellation_rate": df["cancelled"].astype(float), "support_rate": df["support_contact"].astype(float),
        "refund_per_order": df["refund_amount"], "avg_delivery_minutes": df["delivery_minutes"],
        "courier_minutes_per_order": df["courier_minutes"],
    }
    frame = pd.DataFrame({"ts": df["ts"], **{d: df[d].astype(str) for d in DIMS}})
    for name, v in values.items():
        frame[f"{name}__x"] = v
        frame[f"{name}__y"] = v.notna().astype(float)
        frame[f"{name}__xx"] = v * v
        frame[f"{name}__yy"] = frame[f"{name}__y"] * frame[f"{name}__y"]
        frame[f"{name}__xy"] = v * frame[f"{name}__y"]
    del df
    parts = []
    for k in range(3):
        for combo in combinations(DIMS, k):
            g = frame.groupby(["ts", *combo], sort=False, observed=True)
            sums = g[[c for c in frame.columns if "__" in c]].sum()
            sums["n"] = g.size()
            sums = sums.reset_index()
            label = (sums[list(combo)].astype(str).radd([f"{d}=" for d in combo]).agg("&".join, axis=1)
                     if combo else pd.Series("*", index=sums.index))
            rates = {}
            for name in values:
                num, den = sums[f"{name}__x"], sums[f"{name}__y"]
                rates[name] = num / den.replace(0, np.nan)
                parts.append(pd.DataFrame({"ts": sums["ts"], "slice": label, "metric": name,
                                           "value": rates[name], "numerator": num, "denominator": den,
                                           "n": sums["n"], "num_sq": sums[f"{name}__xx"],
                                           "den_sq": sums[f"{name}__yy"], "num_den": sums[f"{name}__xy"]}))
            # The composite, as the workspace defines it: the weighted mean of oriented components.
            score = (0.4 * rates["on_time_rate"] + 0.3 * rates["item_accuracy"]
                     + 0.15 * (1.0 - rates["cancellation_rate"]) + 0.15 * (1.0 - rates["support_rate"]))
            parts.append(pd.DataFrame({"ts": sums["ts"], "slice": label, "metric": "cx_score", "value": score,
                                       "numerator": score, "denominator": 1.0, "n": sums["n"]}))
    out.mkdir(parents=True, exist_ok=True)
    pd.concat(parts, ignore_index=True).to_parquet(out / "cube.parquet")


VARIANTS = {"ours": run_ours, "sql": run_sql, "pandas": run_pandas}


def _child(variant: str, data: Path, out: Path) -> None:
    started = time.perf_counter()
    VARIANTS[variant](data, out)
    print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": _peak_mb()}))


def _measure(variant: str, data: Path, scratch: Path) -> dict:
    out = scratch / variant
    proc = subprocess.run([sys.executable, __file__, "--child", variant, "--data", str(data), "--out", str(out)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    import duckdb

    result["rows"] = duckdb.sql(f"SELECT count(*) FROM '{out / 'cube.parquet'}'").fetchall()[0][0]
    return result


def _max_difference(ours: Path, other: Path) -> dict:
    """Whether a variant computed the same cube as ours: rows without a partner, largest value gap."""
    import duckdb

    unmatched, largest = duckdb.sql(f"""
        SELECT count(*) FILTER (WHERE a.metric IS NULL OR b.metric IS NULL),
               coalesce(max(abs(a.value - b.value)), 0)
        FROM '{ours / 'cube.parquet'}' a
        FULL JOIN '{other / 'cube.parquet'}' b USING (ts, slice, metric)""").fetchall()[0]
    return {"unmatched": unmatched, "max": largest}


def _ensure_data(orders: int, data: Path | None) -> Path:
    if data is not None and (data / "workspace.yaml").exists():
        return data
    data = data or Path(tempfile.gettempdir()) / f"cxw-bench-{orders}"
    if not (data / "workspace.yaml").exists():
        from backend.cli import main

        code = main(["generate", "cx", "--orders", str(orders), "--days", "28", "--seed", "1",
                     "--scenario", "batching_policy", "--out", str(data)])
        if code != 0:
            raise SystemExit("generation failed")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--data", type=Path, help="a generated CX dataset to reuse (generated if absent)")
    parser.add_argument("--skip-pandas", action="store_true", help="leave out the (slow) pandas variant")
    parser.add_argument("--child", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.data, args.out)
        return
    data = _ensure_data(args.orders, args.data)
    variants = ["ours", "sql"] + ([] if args.skip_pandas else ["pandas"])
    with tempfile.TemporaryDirectory() as scratch:
        results = {v: _measure(v, data, Path(scratch)) for v in variants}
        differences = {v: _max_difference(Path(scratch) / "ours", Path(scratch) / v) for v in variants[1:]}
    print(f"metric cube over {data} (hour grain, {len(DIMS)} dimensions, depth 2, 8 metrics)")
    print(f"{'variant':<8} {'seconds':>9} {'peak MB':>9} {'rows':>12}")
    for v, r in results.items():
        print(f"{v:<8} {r['seconds']:>9.1f} {r['peak_mb']:>9.0f} {r['rows']:>12,}")
    for v, diff in differences.items():
        print(f"{v} against ours: {diff['unmatched']:,} rows unmatched, largest |value difference| {diff['max']:.2e}")
    ours = results["ours"]["seconds"]
    print(f"ours / hand-written SQL: {ours / results['sql']['seconds']:.2f}x  (target ≤ 1.3x)")
    if "pandas" in results:
        print(f"pandas / ours: {results['pandas']['seconds'] / ours:.1f}x faster  (target ≥ 10x)")
    print(f"ours peak memory: {results['ours']['peak_mb'] / 1024:.2f} GB  (target < 4 GB)")


if __name__ == "__main__":
    main()
