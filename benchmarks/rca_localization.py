#!/usr/bin/env python3
"""Benchmark of multi-dimensional root-cause localization against the shared anchors.

Uses ``shared/benchmarks/rca_localization`` (``generate.py``, ``score.py``, the anchors' figures in its
README): generates the three settings listed there (and ``rs``, below) into a temporary directory, runs our localizer
through the code path of ``cxw localize`` (``backend.commands.localize_commands``), runs a baseline
in the same process (plain Adtributor, Bhagwan et al. NSDI 2014, one dimension at a time, its
published thresholds), scores both with ``score.py`` (strict protocol: exact elements only) and
prints F1 / precision / recall / mean seconds per instance beside the anchors' published figures.

    python benchmarks/rca_localization.py                 # the README's seeds (S 1, L 2, ratio 5)
    python benchmarks/rca_localization.py --seeds 11 12   # the same settings on other seeds
    python benchmarks/rca_localization.py --sets S --n 20 # a quick look
    python benchmarks/rca_localization.py --sets rs --previous /work/main   # beside main's code

Settings ``rs`` and ``rs-large`` (20 instances of 5k–50k leaves, most over 10k) are the project's own generator of real-like failure-ratio incidents
(``data.synthetic.failure_ratio``: noisy four-minute forecasts, skewed traffic, leaves that come and
go, 1–3 root-cause elements); its instances are real-sized (up to tens of thousands of leaves) and
their time target is the p95 per instance. ``--previous DIR`` runs ``cxw localize``'s code path of
another checkout on the same instances, in the same run, for a before/after table.

Times: ``s/inst`` and ``p95 s`` are wall seconds per instance (reading its files and localizing it,
the ``elapsed_time`` of the Squeeze format); ``cpu`` and ``cpu p95`` are the CPU seconds of the same
work (``time.process_time``), which other jobs on a shared machine do not inflate. The targets are
checked on CPU time. Run with ``OMP_NUM_THREADS=1`` so both are single-threaded.

``shared/`` is found beside the repository (``<repo>/../shared``, as CI clones it), or at
``$CXW_SHARED``, or at ``--shared``. Exit status 1 with ``--check`` when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.commands.localize_commands import (  # noqa: E402
    find_instances,
    read_leaves,
    write_records,
)
from data.synthetic.failure_ratio import FailureRatioConfig, write_cases  # noqa: E402


@dataclass(frozen=True)
class Setting:
    """One benchmark setting: generate.py arguments (or the project's failure-ratio generator) and
    the published figures."""

    name: str
    args: tuple[str, ...]
    seed: int  # the README's seed
    anchors: dict[str, tuple[float, float | None]]  # method -> (strict F1, s/instance or None)
    target_f1: float
    generator: str = "shared"  # "shared": shared generate.py; "failure_ratio": data.synthetic.failure_ratio
    cases: FailureRatioConfig = FailureRatioConfig()  # the failure-ratio generator's ranges


SETTINGS = {
    "S": Setting(
        "S", ("--preset", "S", "--n", "100"), 1,
        {"RiskLoc": (0.536, 3.4), "AutoRoot": (0.361, 0.50), "Squeeze": (0.269, None), "Adtributor": (0.102, None)},
        0.65,
    ),
    "L": Setting(
        "L", ("--preset", "L", "--n", "100"), 2,
        {"RiskLoc": (0.275, 1.3), "AutoRoot": (0.529, 0.17), "Adtributor": (0.000, None)},
        0.65,
    ),
    "ratio": Setting(
        "ratio",
        ("--metric", "ratio", "--total", "1e8", "--dims", "8", "6", "10", "5", "4", "--layers", "1", "3",
         "--noise", "0", "0.1", "--severity", "0.2", "1.0", "--deviation", "0", "0.05", "--n", "40"),
        5,
        {"RiskLoc": (0.121, 6.5), "AutoRoot": (0.323, 0.28), "Squeeze": (0.165, None), "Adtributor": (0.160, None)},
        0.50,
    ),
    "rs": Setting(
        "rs", ("--n", "60"), 1,
        {"RobustSpot, real RS": (0.413, None), "ours before #17, real RS": (0.24, 2.6)},
        0.60, generator="failure_ratio",
    ),
    "rs-large": Setting(  # the same kind of incidents on 5k to 50k leaves (most above 10k): the speed target
        "rs-large", ("--n", "20"), 1, {}, 0.60, generator="failure_ratio",
        cases=FailureRatioConfig(n_dims=(5, 6), cardinality=(5, 30), leaves=(40_000, 120_000)),
    ),
}
TARGET_SECONDS = 1.0  # mean, and p95 on the real-sized failure-ratio cases


def shared_dir(explicit: str | None) -> Path:
    """The shared benchmark folder: --shared, else $CXW_SHARED, else <repo>/../shared."""
    root = Path(explicit or os.environ.get("CXW_SHARED") or REPO.parent / "shared")
    bench = root / "benchmarks" / "rca_localization"
    for script in ("generate.py", "score.py"):
        if not (bench / script).is_file():
            sys.exit(f"error: {bench / script} not found (set --shared or CXW_SHARED to the shared/ folder)")
    return bench


# --------------------------------------------------------------------------- baseline: Adtributor


def adtributor(directory: Path, t_eep: float = 0.1, t_ep: float = 0.67, k: int = 3) -> list[dict]:
    """Plain Adtributor (Bhagwan et al., NSDI 2014) on every instance: per dimension, take elements by
    decreasing surprise (Jensen-Shannon) while each explains > t_eep of the change, until they explain
    > t_ep; report the elements of the k dimensions with the most surprise. Derived (ratio) KPIs use
    the paper's partial-derivative explanatory power and the summed surprise of both measures."""
    records = []
    for instance in find_instances(directory):
        start = time.perf_counter()
        frames = [read_leaves(path) for path in instance.files]
        dims = frames[0][1]
        candidates = []
        for dim in dims:
            sums = [frame.groupby(dim, sort=True)[["real", "predict"]].sum() for frame, _ in frames]
            if instance.is_ratio:
                num, den = sums[0], sums[1].reindex(sums[0].index, fill_value=0.0)
                ep = _derived_ep(num, den)
                surprise = _surprise(num) + _surprise(den)
            else:
                leaves = sums[0]
                change = leaves["real"].sum() - leaves["predict"].sum()
                ep = (leaves["real"] - leaves["predict"]) / change if change else leaves["real"] * 0.0
                surprise = _surprise(leaves)
            order = np.argsort(-surprise.to_numpy(), kind="stable")
            chosen, explained, total_surprise = [], 0.0, 0.0
            for j in order:
                if ep.iloc[j] > t_eep:
                    chosen.append(f"{dim}={ep.index[j]}")
                    explained += ep.iloc[j]
                    total_surprise += surprise.iloc[j]
                if explained > t_ep:
                    candidates.append((total_surprise, chosen))
                    break
        candidates.sort(key=lambda c: -c[0])
        elements = [e for _, chosen in candidates[:k] for e in chosen]
        records.append(
            {"timestamp": instance.timestamp, "root_cause": ";".join(elements),
             "elapsed_time": round(time.perf_counter() - start, 6)}
        )
    return records


def _surprise(sums: pd.DataFrame) -> pd.Series:
    """Per-element Jensen-Shannon surprise between the forecast and observed distributions."""
    p = sums["predict"] / max(sums["predict"].sum(), 1e-300)
    q = sums["real"] / max(sums["real"].sum(), 1e-300)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = 0.5 * (np.where(p > 0, p * np.log(p / m), 0.0) + np.where(q > 0, q * np.log(q / m), 0.0))
    return pd.Series(terms, index=sums.index)


def _derived_ep(num: pd.DataFrame, den: pd.DataFrame) -> pd.Series:
    """Explanatory power of each element for the change of sum(num)/sum(den) (Adtributor §3.3)."""
    a_f, b_f = num["predict"].sum(), den["predict"].sum()
    change = num["real"].sum() / den["real"].sum() - a_f / b_f
    d_a, d_b = num["real"] - num["predict"], den["real"] - den["predict"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ep = (d_a * b_f - d_b * a_f) / (b_f * (b_f + d_b)) / change
    return ep.fillna(0.0)


# --------------------------------------------------------------------------- the run


def generate(bench: Path, setting: Setting, seed: int, out: Path, n: int | None) -> None:
    args = list(setting.args)
    if n is not None:
        args[args.index("--n") + 1] = str(n)
    if setting.generator == "failure_ratio":
        write_cases(out, int(args[args.index("--n") + 1]), seed, setting.cases)
        return
    subprocess.run(
        [sys.executable, str(bench / "generate.py"), "--out", str(out), "--seed", str(seed), *args],
        check=True, stdout=subprocess.DEVNULL,
    )


def score(bench: Path, truth: Path, preds: dict[str, Path]) -> pd.DataFrame:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        summary = Path(tmp.name)
    try:
        subprocess.run(
            [sys.executable, str(bench / "score.py"), "--truth", str(truth),
             "--pred", *[f"{name}={path}" for name, path in preds.items()], "--json-out", str(summary)],
            check=True, stdout=subprocess.DEVNULL,
        )
        return pd.DataFrame(json.loads(summary.read_text())).set_index("method")
    finally:
        summary.unlink(missing_ok=True)


# `cxw localize`'s code path (`localize_instance` per instance, as `localize_directory` runs it)
# with the CPU seconds of each instance; run by this process and, for --previous, by a subprocess
# importing another checkout's code
TIMED_RUN = """
import json, sys, time
from pathlib import Path
from backend.commands.localize_commands import LocalizeConfig, find_instances, localize_instance
records = []
for instance in find_instances(Path(sys.argv[1])):
    cpu = time.process_time()
    record = localize_instance(instance, LocalizeConfig())
    records.append({**record, "cpu_time": round(time.process_time() - cpu, 6)})
Path(sys.argv[2]).write_text(json.dumps(records))
"""


def timed_records(checkout: Path, data: Path, out: Path) -> None:
    """`cxw localize`'s code path of a checkout of the project on the instances of ``data``, with
    CPU seconds per instance, in a subprocess importing that checkout's code."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    subprocess.run([sys.executable, "-c", TIMED_RUN, str(data), str(out)], cwd=checkout, env=env, check=True)


def cpu_seconds(path: Path) -> tuple[float, float]:
    """Mean and p95 (as score.py's: pandas' quantile) of the CPU seconds per instance of a records file."""
    cpu = pd.Series([r["cpu_time"] for r in json.loads(path.read_text())])
    return float(cpu.mean()), float(cpu.quantile(0.95))


def run_setting(bench: Path, setting: Setting, seed: int, work: Path, n: int | None,
                previous: Path | None = None) -> dict:
    data = work / f"{setting.name}-seed{seed}"
    generate(bench, setting, seed, data, n)
    methods = ["ours", "adtributor"]
    if previous is not None:  # first, so both runs see the same machine load
        timed_records(previous, data, work / f"{data.name}.previous.json")
        methods.append("previous")
    timed_records(REPO, data, work / f"{data.name}.ours.json")
    write_records(adtributor(data), work / f"{data.name}.adtributor.json")
    table = score(bench, data, {m: work / f"{data.name}.{m}.json" for m in methods})
    cpu = {m: cpu_seconds(work / f"{data.name}.{m}.json") for m in methods if m != "adtributor"}
    table["cpu_mean"] = [cpu.get(m, (np.nan, np.nan))[0] for m in table.index]
    table["cpu_p95"] = [cpu.get(m, (np.nan, np.nan))[1] for m in table.index]
    return {"set": setting.name, "seed": seed, "table": table}


def report(results: list[dict]) -> bool:
    """Print one table per set; return whether every target was met."""
    ok = True
    for name, setting in SETTINGS.items():
        rows = [r for r in results if r["set"] == name]
        if not rows:
            continue
        source = ("data.synthetic.failure_ratio.write_cases(n, SEED)" if setting.generator == "failure_ratio"
                  else f"generate.py {' '.join(setting.args)} --seed SEED")
        print(f"\n== {name}: {source}  (strict protocol of score.py)")
        print(f"{'method':<34}{'seed':>6}{'n':>6}{'F1':>8}{'P':>8}{'R':>8}{'s/inst':>9}{'p95 s':>9}"
              f"{'cpu':>8}{'cpu p95':>9}")
        labels = (("ours", "ours (slice pursuit)"), ("previous", "previous (--previous checkout)"),
                  ("adtributor", "baseline: Adtributor"))
        for r in rows:
            for method, label in labels:
                if method not in r["table"].index:
                    continue
                row = r["table"].loc[method]
                cpu = f"{row.cpu_mean:>8.3f}{row.cpu_p95:>9.3f}" if np.isfinite(row.cpu_mean) else ""
                print(
                    f"{label:<34}{r['seed']:>6}{int(row.n):>6}"
                    f"{row.F1:>8.3f}{row.P:>8.3f}{row.R:>8.3f}{row.t_mean:>9.3f}{row.t_p95:>9.3f}{cpu}"
                )
                if method == "ours":
                    seconds = row.cpu_p95 if setting.generator == "failure_ratio" else row.cpu_mean
                    ok &= bool(row.F1 >= setting.target_f1 and seconds < TARGET_SECONDS)
        for method, (f1, sec) in setting.anchors.items():
            sec_text = f"{sec:>9.2f}" if sec is not None else f"{'':>9}"
            print(f"{'anchor ' + method:<34}{setting.seed:>6}{'':>6}{f1:>8.3f}{'':>8}{'':>8}{sec_text}")
        which = "at p95" if setting.generator == "failure_ratio" else "mean"
        print(f"target: F1 >= {setting.target_f1:.2f} and < {TARGET_SECONDS:.0f} CPU s per instance ({which})")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", help="the shared/ folder (default: $CXW_SHARED or <repo>/../shared)")
    ap.add_argument("--sets", nargs="+", choices=sorted(SETTINGS), default=list(SETTINGS))
    ap.add_argument("--seeds", nargs="+", type=int, help="seeds to run instead of the README's (one per set)")
    ap.add_argument("--n", type=int, help="instances per set instead of the README's (quick looks)")
    ap.add_argument("--keep", help="keep generated data and predictions in this folder")
    ap.add_argument("--json-out", help="write every score row here")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--previous", help="another checkout of the project (e.g. /work/main) run on the same data")
    a = ap.parse_args(argv)
    bench = shared_dir(a.shared)
    with tempfile.TemporaryDirectory(prefix="rca-bench-") as tmp:
        work = Path(a.keep) if a.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = []
        for name in a.sets:
            setting = SETTINGS[name]
            for seed in a.seeds or [setting.seed]:
                print(f"running {name} seed {seed} ...", file=sys.stderr, flush=True)
                previous = Path(a.previous).resolve() if a.previous else None
                results.append(run_setting(bench, setting, seed, work, a.n, previous))
    ok = report(results)
    if a.json_out:
        rows = [
            {"set": r["set"], "seed": r["seed"], "method": method, **r["table"].loc[method].to_dict()}
            for r in results for method in r["table"].index
        ]
        Path(a.json_out).write_text(json.dumps(rows, indent=1, default=float))
    return 0 if ok or not a.check else 1


if __name__ == "__main__":
    sys.exit(main())
