"""Detection recall per metric and per scenario, beside the false alarms on quiet data, for two versions.

Every generated dataset (each CX scenario per seed, and with ``--domains`` each other-domain scenario)
goes through the cube and `detection.scan` (without localization, which does not change a match). An
injected (scenario, metric) is *recalled* when a regression of that metric overlaps the injection's
window and starts no earlier than two days before it (`rca.evaluation.incident_matches`' rule); metrics
an injection moves in their good direction are not counted. A *false alarm* is a regression that matches
no injection: on quiet datasets (scenario ``none``) every regression is one. Recall is comparable across
two versions of the detector only at the same false-alarm rate, so both are printed together, and recall
is printed again at the operating point with no false alarm on the quiet datasets: only regressions whose
q-value is below the smallest q-value of any quiet-data alarm count.

``--previous DIR`` scans the same datasets (the same cubes) with another checkout's code — e.g. main before
a change, ``git worktree add /tmp/main-before <commit>`` — in a subprocess, in the same run, and prints
both versions' tables side by side. Each version runs in its own process (``--worker``), so both import
their own ``detection`` package.

    python benchmarks/detection_recall.py --seeds 1 2 3 --quiet-seeds $(seq 1 20) --previous /tmp/main-before
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.append(str(Path(__file__).resolve().parents[1]))

TOLERANCE = timedelta(days=2)


def worker(folders: list[Path]) -> int:
    """Scan each folder's cube with the importable ``detection``; one JSON line per folder on stdout."""
    import resource

    from data.sources import open_workspace
    from detection.config import detection_config
    from detection.scan import scan

    for folder in folders:
        ow = open_workspace(folder / "workspace.yaml")
        clock = time.perf_counter()
        result = scan(ow, folder / "cube" / "cube.parquet", detection_config(ow.workspace), localize_slices=False)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(json.dumps({
            "folder": str(folder), "seconds": time.perf_counter() - clock, "cpu": usage.ru_utime + usage.ru_stime,
            "regressions": [{"metric": r.metric, "slice": r.slice.key, "start": r.start.isoformat(),
                             "end": r.end.isoformat(), "q": r.q_value, "relative": r.relative_change}
                            for r in result.regressions],
        }), flush=True)
    return 0


def matches(regression: dict, injection: dict, metric: str) -> bool:
    start = datetime.fromisoformat(injection["start"])
    return (regression["metric"] == metric and datetime.fromisoformat(regression["end"]) > start
            and datetime.fromisoformat(regression["start"]) >= start - TOLERANCE)


@dataclass
class Tally:
    """One version's outcome over every dataset."""

    per_metric: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    per_scenario: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    best_q: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    onset: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # hours, start − truth
    quiet_alarms: list[str] = field(default_factory=list)
    quiet_q: list[float] = field(default_factory=list)
    quiet_datasets: int = 0
    quiet_with_alarm: int = 0
    other_alarms: int = 0
    missed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu: float = 0.0

    def add(self, kind: str, scenario: str, seed: int, truth: dict, hurts: dict[str, str], regressions: list[dict]):
        explained: set[int] = set()
        for injection in truth["injections"]:
            for metric in injection["metrics"]:
                if injection.get("direction", {}).get(metric, hurts[metric]) != hurts[metric]:
                    continue  # moved the way the metric's `good` wants (courier minutes saved): no regression
                hits = [i for i, r in enumerate(regressions) if matches(r, injection, metric)]
                explained.update(hits)
                self.per_metric[f"{kind}:{metric}"].append(bool(hits))
                self.per_scenario[f"{kind}:{scenario}"].append(bool(hits))
                self.best_q[f"{kind}:{metric}"].append(min((regressions[i]["q"] for i in hits), default=float("inf")))
                if hits:
                    truth_start = datetime.fromisoformat(injection["start"])
                    self.onset[f"{kind}:{metric}"].append(min(
                        (datetime.fromisoformat(regressions[i]["start"]) - truth_start for i in hits), key=abs)
                        / timedelta(hours=1))
                else:
                    self.missed.append(f"{scenario} {seed} {metric}")
        alarms = [r for i, r in enumerate(regressions) if i not in explained]
        if truth["injections"]:
            self.other_alarms += len(alarms)
            return
        self.quiet_datasets += 1
        self.quiet_with_alarm += bool(alarms)
        self.quiet_q += [r["q"] for r in alarms]
        self.quiet_alarms += [f"{kind} seed {seed}: {r['metric']} {r['slice']} {r['start'][:16]} to {r['end'][11:16]}, "
                              f"{r['relative']:+.1%}, q = {r['q']:.2g}" for r in alarms]


def rate(rows: list[bool]) -> str:
    return f"{sum(rows)}/{len(rows)}" if rows else "-"


def report(tallies: dict[str, Tally]) -> None:
    names = list(tallies)
    first = tallies[names[0]]
    width = 14

    def table(title: str, rows: dict[str, list[list[bool]]]) -> None:
        print(f"\n{title:40s}" + "".join(f"{n:>{width}s}" for n in names))
        for key in sorted(rows):
            print(f"  {key:38s}" + "".join(f"{rate(r):>{width}s}" for r in rows[key]))

    table("recall per metric", {k: [t.per_metric[k] for t in tallies.values()] for k in first.per_metric})
    print(f"\n{'median onset error, hours (start - truth)':40s}" + "".join(f"{n:>{width}s}" for n in names))
    for key in sorted(first.per_metric):
        cells = [f"{float(np.median(t.onset[key])):+.1f}" if t.onset[key] else "-" for t in tallies.values()]
        print(f"  {key:38s}" + "".join(f"{c:>{width}s}" for c in cells))
    table("recall per scenario", {k: [t.per_scenario[k] for t in tallies.values()] for k in first.per_scenario})
    everything = {n: [x for rows in t.per_metric.values() for x in rows] for n, t in tallies.items()}
    print(f"  {'overall':38s}" + "".join(f"{rate(everything[n]):>{width}s}" for n in names))
    print(f"  {'quiet datasets with a false alarm':38s}"
          + "".join(f"{f'{t.quiet_with_alarm}/{t.quiet_datasets}':>{width}s}" for t in tallies.values()))
    print(f"  {'quiet-data false alarms':38s}" + "".join(f"{len(t.quiet_alarms):>{width}d}" for t in tallies.values()))
    print(f"  {'unmatched on injected datasets':38s}"
          + "".join(f"{t.other_alarms:>{width}d}" for t in tallies.values()))
    print(f"  {'scan seconds (wall / cpu)':38s}"
          + "".join(f"{f'{t.seconds:.0f} / {t.cpu:.0f}':>{width}s}" for t in tallies.values()))
    for n, t in tallies.items():
        print(f"\n{n}: missed: " + ("; ".join(t.missed) if t.missed else "none"))
        for alarm in t.quiet_alarms:
            print(f"{n}: quiet alarm: {alarm}")
        if t.quiet_q:
            bar = min(t.quiet_q)
            at_bar = {k: [q < bar for q in rows] for k, rows in t.best_q.items()}
            print(f"{n}: recall with no quiet-data false alarm (q < {bar:.2g}): "
                  + ", ".join(f"{k.split(':')[1]} {rate(v)}" for k, v in sorted(at_bar.items()))
                  + f"; overall {rate([x for v in at_bar.values() for x in v])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--quiet-seeds", type=int, nargs="+", default=list(range(1, 11)),
                        help="seeds of the quiet (nothing injected) datasets, for the false-alarm rate")
    parser.add_argument("--orders", type=int, default=150_000, help="CX orders per dataset")
    parser.add_argument("--records", type=int, default=100_000, help="records per other-domain dataset")
    parser.add_argument("--domains", action="store_true", help="also the payments, SaaS and warehouse domains")
    parser.add_argument("--work", type=Path, default=Path("/tmp/cxw-recall"))
    parser.add_argument("--previous", type=Path, help="another checkout whose detection scans the same cubes")
    parser.add_argument("--worker", type=Path, nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker)

    from data.sources import open_workspace
    from data.synthetic.cx import SCENARIOS as CX_SCENARIOS
    from data.synthetic.cx import generate_cx
    from data.synthetic.generic import DOMAINS, SCENARIOS as GENERIC_SCENARIOS, generate_domain
    from metrics.cube import build_cube

    plan = [("cx", s, seed) for seed in args.seeds for s in CX_SCENARIOS if s != "none"]
    plan += [("cx", "none", seed) for seed in args.quiet_seeds]
    if args.domains:
        plan += [(d, s, seed) for seed in args.seeds for d in DOMAINS for s in GENERIC_SCENARIOS if s != "none"]
        plan += [(d, "none", seed) for seed in args.quiet_seeds for d in DOMAINS]
    folders = {}
    for kind, scenario, seed in plan:
        folder = args.work / f"{kind}-{scenario}-{seed}"
        if not (folder / "truth.json").exists():
            if kind == "cx":
                generate_cx(args.orders, 28, seed, scenario, folder)
            else:
                generate_domain(kind, scenario, args.records, seed, folder)
        if not (folder / "cube" / "cube.parquet").exists():
            build_cube(open_workspace(folder / "workspace.yaml"), folder / "cube")
        folders[(kind, scenario, seed)] = folder
    print(f"{len(folders)} datasets in {args.work}", flush=True)

    versions = {"this": Path(__file__).resolve().parents[1]}
    if args.previous:
        versions["previous"] = args.previous.resolve()
    tallies = {}
    for name, checkout in versions.items():
        env = {**os.environ, "PYTHONPATH": str(checkout)}
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker",
                               *map(str, folders.values())], env=env, cwd=checkout, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{name} ({checkout}) failed:\n{proc.stderr}", file=sys.stderr)
            return 1
        scanned = {Path(line["folder"]): line for line in map(json.loads, proc.stdout.splitlines())}
        tally = Tally()
        for (kind, scenario, seed), folder in folders.items():
            ow = open_workspace(folder / "workspace.yaml")
            hurts = {m.name: "down" if m.good == "up" else "up" for m in ow.workspace.metrics}
            truth = json.loads((folder / "truth.json").read_text())
            tally.add(kind, scenario, seed, truth, hurts, scanned[folder]["regressions"])
            tally.seconds += scanned[folder]["seconds"]
        tally.cpu = max(line["cpu"] for line in scanned.values())
        tallies[f"{name}"] = tally
        print(f"{name} ({checkout}) scanned", flush=True)
    report(tallies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
