"""Speed of `cxw analyze` on generated CX data: 1M orders in < 60 s and 10M in < 5 min on 2 cores.

For each size the script generates a CX dataset (once; reused from ``--work``), then runs the whole
analysis as `cxw analyze` does by default — metric cube, detection, RCA and recommendations for every
incident (``--recommend N``: the N most severe; 0: none) — and prints every stage's wall time beside
a *baseline* measured in the same run on the same data: one DuckDB pass over all records computing
every metric's sums. The baseline tells how fast this machine is right now (the stage/baseline
ratios are comparable across machines and loads).

    python benchmarks/analyze_speed.py --orders 1000000 10000000 --work /tmp/cxw-speed
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))

LIMITS = {1_000_000: 60.0, 10_000_000: 300.0}


def baseline_scan(workspace: Path) -> float:
    """Seconds for one DuckDB pass over every record computing every metric's sums."""
    from data.sources import open_workspace
    from rca.measures import Measures

    ow = open_workspace(workspace)
    ms = Measures.of(ow.workspace)
    started = time.perf_counter()
    ow.con.execute(f"SELECT count(*), {', '.join(ms.sum_columns())} FROM (SELECT {', '.join(ms.record_columns())} "
                   f"FROM records)").fetchall()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--scenario", default="batching_policy")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=Path("/tmp/cxw-speed"))
    parser.add_argument("--recommend", type=int, default=None,
                        help="recommend for the N most severe incidents (default: every incident, as `cxw analyze` "
                             "does; 0: none)")
    args = parser.parse_args()

    from data.synthetic.cx import generate_cx
    from backend.analysis import analyze_workspace

    print(f"cores available: {len(os.sched_getaffinity(0))}; load average: {os.getloadavg()[0]:.1f}")
    failed = False
    for orders in args.orders:
        folder = args.work / f"cx-{args.scenario}-{orders}-{args.seed}"
        if not (folder / "truth.json").exists():
            started = time.perf_counter()
            generate_cx(orders, 28, args.seed, args.scenario, folder)
            print(f"generated {orders:,} orders in {time.perf_counter() - started:.1f} s")
        base = baseline_scan(folder / "workspace.yaml")
        started = time.perf_counter()
        cpu = time.process_time()
        result = analyze_workspace(folder / "workspace.yaml", folder / "analysis", recommend=args.recommend)
        total = time.perf_counter() - started
        cpu = time.process_time() - cpu
        limit = LIMITS.get(orders)
        verdict = "" if limit is None else (" PASS" if total < limit else " FAIL") + f" (limit {limit:.0f} s)"
        failed |= limit is not None and total >= limit
        print(f"\n{orders:,} orders: {len(result.incidents)} incident(s), total {total:.1f} s wall, {cpu:.1f} s CPU"
              f"{verdict}")
        print(f"  {'stage':<16}{'seconds':>9}{'× baseline':>12}")
        print(f"  {'baseline scan':<16}{base:>9.2f}{1.0:>12.1f}")
        for stage, seconds in result.timings.items():
            print(f"  {stage:<16}{seconds:>9.2f}{seconds / base:>12.1f}")
        top = result.incidents[0].causes[0] if result.incidents and result.incidents[0].causes else None
        if top is not None:
            print(f"  top cause of the most severe incident: {top.hypothesis} {top.change_event or top.feature} "
                  f"({top.confidence:.0%})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
