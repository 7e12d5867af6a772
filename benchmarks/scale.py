"""Scale: N generated orders end to end (`cxw analyze`) on DuckDB, and on Spark local mode at a smaller N.

Targets on DuckDB (2 cores): 100M orders analysed in < 10 min and < 8 GB; 10M in < 60 s.

For each size the script generates a CX dataset once (``cxw generate cx`` in a child process: chunk by
chunk, so its memory does not grow with N; its peak is printed), then runs the whole analysis exactly as
`cxw analyze` does (`backend.analysis.analyze_workspace`) in a fresh child process per engine, and prints
each stage's wall and CPU time (open, metrics, detect, rca, recommendations; CPU is user + system of the
process, every thread, which says more than wall time on a shared machine) with the peak resident memory of
the process tree during that stage (sampled every 0.2 s from /proc; for Spark the tree includes the
JVM). Beside them, a baseline measured in the same run on the same data: one DuckDB pass over every
record computing every metric's sums, which says how fast this machine is right now (the machine is
shared; the ratios are what compare across runs), and the load average.

    python benchmarks/scale.py --orders 10000000 --spark-orders 1000000 --work /tmp/cxw-scale
    python benchmarks/scale.py --orders 100000000 --spark-orders 10000000 --work /data/cxw-scale

``--recommend N`` limits recommendations to the N most severe incidents (default 1: the scans and the
model fit once, not once per incident).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT))

from analyze_speed import baseline_scan  # noqa: E402  (benchmarks/, the script's own folder)

DAYS = 28
LIMIT_SECONDS = {10_000_000: 60.0, 100_000_000: 600.0}
LIMIT_BYTES = {100_000_000: 8 * 1024**3}


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and every descendant (from /proc; 0 for a process that is gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmRSS:"))) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration):
            continue
    return total


class Sampler:
    """Peak memory of this process tree over time: ``samples`` of (seconds since start, bytes)."""

    def __init__(self, every: float = 0.2):
        self.every, self.samples, self.started = every, [], time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append((time.perf_counter() - self.started, tree_rss(os.getpid())))

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def peaks(self, timings: dict[str, float]) -> dict[str, int]:
        """Peak bytes within each stage; the stages ran one after another in ``timings``' order."""
        out, start = {}, 0.0
        for stage, seconds in timings.items():
            inside = [b for t, b in self.samples if start <= t <= start + seconds + self.every]
            out[stage] = max(inside, default=0)
            start += seconds
        return out


def cpu_seconds() -> float:
    """User + system CPU seconds of this process, every thread (DuckDB's too) and its waited-for children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# the progress message that opens each of analyze_workspace's stages (`backend.progress`)
STAGE_OPENED_BY = {"metrics": "building the metric cube", "detect": "detecting regressions", "rca": "explaining",
                   "recommendations": "fitting the outcome model"}


class CpuClock:
    """A `backend.progress.Progress` that notes the CPU seconds at the start of each stage."""

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}

    def __call__(self, stage: str, done: float | None = None, rows: int | None = None) -> None:
        for name, opening in STAGE_OPENED_BY.items():
            if stage.startswith(opening) and name not in self.marks:
                self.marks[name] = cpu_seconds()

    def per_stage(self, started: float, ended: float, stages: list[str]) -> dict[str, float]:
        """CPU seconds of each stage, from its mark (``started`` for the first; a stage that reported no
        mark starts where the one before it did) to the next stage's."""
        bounds = [started]
        for stage in stages[1:]:
            bounds.append(self.marks.get(stage, bounds[-1]))
        bounds.append(ended)
        return {stage: bounds[i + 1] - bounds[i] for i, stage in enumerate(stages)}


def child_analyze(workspace: Path, out: Path, engine: str, recommend: int) -> None:
    """In a child process: the analysis as `cxw analyze` runs it, its stage timings (wall and CPU) and
    memory as JSON."""
    from backend.analysis import analyze_workspace
    from data.sources import open_workspace

    clock_cpu = CpuClock()
    with Sampler() as sampler:
        clock, cpu0 = time.perf_counter(), cpu_seconds()
        ow = open_workspace(workspace, engine=engine)  # a Spark session starts here for engine spark
        opened, cpu1 = time.perf_counter() - clock, cpu_seconds()
        result = analyze_workspace(ow, out, recommend=recommend, progress=clock_cpu)
        cpu2 = cpu_seconds()
    timings = {"open workspace": opened, **result.timings}  # then analyze_workspace's own stages
    peaks = sampler.peaks(timings)
    cpu = {"open workspace": cpu1 - cpu0, **clock_cpu.per_stage(cpu1, cpu2, list(result.timings))}
    print(json.dumps({"timings": timings, "cpu": cpu, "peaks": peaks, "incidents": len(result.incidents),
                      "peak": max((b for _, b in sampler.samples), default=0)}))


def child_generate(orders: int, folder: Path, scenario: str, seed: int) -> None:
    from data.synthetic.cx import generate_cx

    with Sampler() as sampler:
        clock = time.perf_counter()
        generate_cx(orders, DAYS, seed, scenario, folder)
        seconds = time.perf_counter() - clock
    print(json.dumps({"seconds": seconds, "peak": max((b for _, b in sampler.samples), default=0)}))


def run_child(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"child {' '.join(args[:2])} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def gb(n: int) -> str:
    return f"{n / 1024**3:.2f} GB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[1_000_000], help="sizes analysed on DuckDB")
    parser.add_argument("--spark-orders", type=int, nargs="*", default=[100_000], help="sizes analysed on Spark")
    parser.add_argument("--scenario", default="batching_policy")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--recommend", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/cxw-scale"))
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "analyze":
            child_analyze(Path(rest[0]), Path(rest[1]), rest[2], int(rest[3]))
        else:
            child_generate(int(rest[0]), Path(rest[1]), rest[2], int(rest[3]))
        return 0

    print(f"cores available: {len(os.sched_getaffinity(0))}; load average at start: "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    failed = False
    runs = [(n, "duckdb") for n in args.orders] + [(n, "spark") for n in args.spark_orders]
    for orders, engine in runs:
        folder = args.work / f"cx-{args.scenario}-{orders}-{args.seed}"
        if not (folder / "truth.json").exists():
            gen = run_child("--child", "generate", str(orders), str(folder), args.scenario, str(args.seed))
            print(f"generated {orders:,} orders in {gen['seconds']:.1f} s, peak {gb(gen['peak'])}")
        base = baseline_scan(folder / "workspace.yaml")
        result = run_child("--child", "analyze", str(folder / "workspace.yaml"),
                           str(args.work / f"out-{engine}-{orders}"), engine, str(args.recommend))
        total, cpu = sum(result["timings"].values()), sum(result["cpu"].values())
        print(f"\n{engine} {orders:,} orders: {total:.1f} s wall, {cpu:.1f} s CPU ({total / base:.0f}× the baseline scan "
              f"of {base:.2f} s), peak {gb(result['peak'])}, {result['incidents']} incident(s); load average "
              f"{os.getloadavg()[0]:.1f}")
        for stage, seconds in result["timings"].items():
            print(f"  {stage:<16} {seconds:8.1f} s wall {result['cpu'].get(stage, float('nan')):8.1f} s CPU  "
                  f"{seconds / base:6.1f}× baseline  peak {gb(result['peaks'][stage])}")
        if engine == "duckdb" and orders in LIMIT_SECONDS and total > LIMIT_SECONDS[orders]:
            print(f"  over the target of {LIMIT_SECONDS[orders]:.0f} s")
            failed = True
        if engine == "duckdb" and orders in LIMIT_BYTES and result["peak"] > LIMIT_BYTES[orders]:
            print(f"  over the memory target of {gb(LIMIT_BYTES[orders])}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
