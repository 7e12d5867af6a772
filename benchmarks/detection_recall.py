"""Detection recall per metric and per scenario, beside the false alarms on quiet data.

Every generated dataset (each CX scenario, and with ``--domains`` each other-domain scenario, per seed)
goes through the cube and `detection.scan`. An injected (scenario, metric) is *recalled* when a
regression of that metric overlaps the injection's window and starts no earlier than two days before it
(`rca.evaluation.incident_matches`' rule); metrics an injection moves in their good direction are not
counted. A *false alarm* is a regression that matches no injection: on
quiet datasets (scenario ``none``) every regression is one. Recall is comparable across two versions of
the detector only at the same false-alarm rate, so both are printed together, and recall is printed
again at the operating point with no false alarm on the quiet datasets: only regressions whose q-value
is below the smallest q-value of any quiet-data alarm count (at the workspace's ``fdr`` when the quiet
data raise none).

    python benchmarks/detection_recall.py --seeds 1 2 3 --work /tmp/cxw-recall
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))


def matches(regression, injection: dict, metric: str, tolerance: timedelta = timedelta(days=2)) -> bool:
    start = datetime.fromisoformat(injection["start"])
    return regression.metric == metric and regression.end > start and regression.start >= start - tolerance


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--quiet-seeds", type=int, nargs="+", default=list(range(1, 11)),
                        help="seeds of the quiet (nothing injected) datasets, for the false-alarm rate")
    parser.add_argument("--orders", type=int, default=150_000, help="CX orders per dataset")
    parser.add_argument("--records", type=int, default=100_000, help="records per other-domain dataset")
    parser.add_argument("--domains", action="store_true", help="also the payments, SaaS and warehouse domains")
    parser.add_argument("--work", type=Path, default=Path("/tmp/cxw-recall"))
    args = parser.parse_args()

    from data.sources import open_workspace
    from data.synthetic.cx import SCENARIOS as CX_SCENARIOS
    from data.synthetic.cx import generate_cx
    from data.synthetic.generic import DOMAINS, SCENARIOS as GENERIC_SCENARIOS, generate_domain
    from detection.config import detection_config
    from detection.scan import scan
    from metrics.cube import build_cube

    plan = [("cx", s, seed) for seed in args.seeds for s in CX_SCENARIOS if s != "none"]
    plan += [("cx", "none", seed) for seed in args.quiet_seeds]
    if args.domains:
        plan += [(d, s, seed) for seed in args.seeds for d in DOMAINS for s in GENERIC_SCENARIOS if s != "none"]
        plan += [(d, "none", seed) for seed in args.quiet_seeds for d in DOMAINS]
    per_metric: dict[str, list[bool]] = defaultdict(list)
    per_scenario: dict[str, list[bool]] = defaultdict(list)
    quiet_alarms: list[int] = []
    other_alarms = 0
    missed: list[str] = []
    best_q: dict[str, list[float]] = defaultdict(list)  # per injected metric: the smallest q of its matches
    quiet_q: list[float] = []
    started = time.perf_counter()
    for kind, scenario, seed in plan:
        folder = args.work / f"{kind}-{scenario}-{seed}"
        if not (folder / "truth.json").exists():
            if kind == "cx":
                generate_cx(args.orders, 28, seed, scenario, folder)
            else:
                generate_domain(kind, scenario, args.records, seed, folder)
        truth = json.loads((folder / "truth.json").read_text())
        ow = open_workspace(folder / "workspace.yaml")
        cube = folder / "cube" / "cube.parquet"
        if not cube.exists():
            build_cube(ow, folder / "cube")
        regressions = scan(ow, cube, detection_config(ow.workspace)).regressions
        explained = set()
        hurts = {m.name: "down" if m.good == "up" else "up" for m in ow.workspace.metrics}
        for injection in truth["injections"]:
            for metric in injection["metrics"]:
                if injection.get("direction", {}).get(metric, hurts[metric]) != hurts[metric]:
                    continue  # moved the way the metric's `good` wants (courier minutes saved): no regression
                hits = [r.id for r in regressions if matches(r, injection, metric)]
                explained.update(hits)
                per_metric[f"{kind}:{metric}"].append(bool(hits))
                per_scenario[f"{kind}:{scenario}"].append(bool(hits))
                best_q[f"{kind}:{metric}"].append(min((r.q_value for r in regressions if r.id in hits),
                                                      default=float("inf")))
                if not hits:
                    missed.append(f"{kind} {scenario} seed {seed}: {metric}")
        alarms = [r for r in regressions if r.id not in explained]
        if truth["injections"]:
            other_alarms += len(alarms)
        else:
            quiet_alarms.append(len(alarms))
            quiet_q += [r.q_value for r in alarms]
            for r in alarms:
                print(f"    quiet alarm: {r.metric} {r.slice.key} from {r.start:%Y-%m-%d %H:%M} to {r.end:%H:%M}, "
                      f"{r.relative_change:+.1%}, q = {r.q_value:.2g}", flush=True)
        print(f"{kind:14s} {scenario:22s} seed {seed}: {len(regressions)} regression(s), "
              f"{len(alarms)} unmatched", flush=True)

    def rate(rows: list[bool]) -> str:
        return f"{sum(rows)}/{len(rows)} ({sum(rows) / len(rows):.0%})"

    print("\nrecall per metric")
    for key in sorted(per_metric):
        print(f"  {key:40s} {rate(per_metric[key])}")
    print("recall per scenario")
    for key in sorted(per_scenario):
        print(f"  {key:40s} {rate(per_scenario[key])}")
    everything = [x for rows in per_metric.values() for x in rows]
    print(f"overall recall {rate(everything)}")
    print(f"false alarms: {sum(quiet_alarms)} regression(s) on {len(quiet_alarms)} quiet dataset(s); "
          f"{other_alarms} unmatched regression(s) on datasets with an injection")
    print("missed: " + ("; ".join(missed) if missed else "none"))
    if quiet_q:
        bar = min(quiet_q)
        print(f"\nrecall with no false alarm on quiet data (q < {bar:.2g}, the smallest quiet-data q)")
        for key in sorted(best_q):
            print(f"  {key:40s} {rate([q < bar for q in best_q[key]])}")
        print(f"overall recall {rate([q < bar for rows in best_q.values() for q in rows])}")
    print(f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
