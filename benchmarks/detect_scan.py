"""Benchmark: `cxw detect` over the metric cube of 10M orders, against per-series loops measured in the same run.

    python benchmarks/detect_scan.py [--orders 10000000] [--data DIR] [--sample 200]

Generates (or reuses, with ``--data``) a CX dataset (courier_shortage, 28 days, seed 11) and its cube
(``DATA/cube/cube.parquet``, built with ``cxw metrics`` if absent), then measures:

* ``cxw detect``: the whole command in a fresh process (open and validate the workspace, read the cube
  one metric at a time, fit and score every slice × metric series at once, FDR, regressions,
  localization with one DuckDB scan of the records, regressions.json) — wall and CPU seconds, peak RSS;
* ``per-series loop``: the same detectors on the same arrays, one series at a time (a ``for`` over
  slices), on a random sample of the tested series, extrapolated to all of them;
* ``pandas loop``: what one writes without the vectorized engine — for each series, select its rows
  from the long cube, hour-of-week mean and standard deviation over the baseline, z-scores, an EWMA
  (``Series.ewm``) and a CUSUM in Python — on a sample, extrapolated.

The machine is shared, so CPU seconds are printed beside wall seconds, with the load average. Target
(issue 3): ``cxw detect`` under 20 s wall on 2 cores for ≈ 30k slice × metric series × 672 hours.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _ensure_data(orders: int, data: Path | None) -> Path:
    data = data or Path(tempfile.gettempdir()) / f"cxw-detect-bench-{orders}"
    from backend.cli import main

    if not (data / "workspace.yaml").exists():
        print(f"generating {orders:,} orders into {data} ...", flush=True)
        if main(["generate", "cx", "--orders", str(orders), "--days", "28", "--seed", "11",
                 "--scenario", "courier_shortage", "--out", str(data)]) != 0:
            raise SystemExit("generation failed")
    if not (data / "cube" / "cube.parquet").exists():
        print("building the cube ...", flush=True)
        if main(["metrics", str(data / "workspace.yaml"), "--out", str(data / "cube")]) != 0:
            raise SystemExit("cube failed")
    return data


def measure_cli(data: Path, out: Path) -> dict:
    """`cxw detect` in a child process: wall, CPU (user + sys) and peak RSS of the child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "backend.cli", "detect", str(data / "workspace.yaml"),
                           "--out", str(out), "--cube", str(data / "cube" / "cube.parquet")],
                          cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"cxw detect failed:\n{proc.stderr[-2000:]}")
    doc = json.loads((out / "regressions.json").read_text())
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "peak_mb": after.ru_maxrss / 1024, "tested": doc["tested"], "regressions": doc["regressions"]}


def measure_stages(data: Path) -> dict:
    """The scan in this process, for where its time goes (reading + scoring, regressions, localization)."""
    from data.sources import open_workspace
    from detection.scan import scan

    result = scan(open_workspace(data / "workspace.yaml"), data / "cube" / "cube.parquet")
    return result.seconds


def _panels(data: Path):
    """Every metric's tested panel, split into baseline and window, as the scan sees them."""
    from data.sources import open_workspace
    from detection.config import detection_config
    from detection.panel import CubeSource
    from detection.scan import _timeline

    ws = open_workspace(data / "workspace.yaml").workspace
    config = detection_config(ws)
    source = CubeSource(data / "cube" / "cube.parquet", ws.records.grain)
    b0, w0, end = _timeline(config, source.ts, ws.records.grain, "bench")
    panels = []
    for m in ws.metrics:
        own = config.for_metric(m.name)
        panel, _ = source.panel(m.name, m.type, ((b0, w0), (w0, end)), own.min_support)
        panels.append((m, panel.columns(b0, w0), panel.columns(w0, end), own.min_relative_change))
    return panels, config, (b0, w0, end)


def measure_series_loop(panels, config, sample: int, rng) -> dict:
    """The scan's detectors, one series at a time, over a sample of series."""
    from detection.detectors import CUSUM, EWMA, SeasonalBaseline, ZScore

    total = sum(base.shape[0] for _, base, _, _ in panels)
    picks = sorted(rng.choice(total, size=min(sample, total), replace=False))
    offsets = [0]
    for _, base, _, _ in panels:
        offsets.append(offsets[-1] + base.shape[0])
    started, cpu = time.perf_counter(), time.process_time()
    for pick in picks:
        k = next(i for i in range(len(panels)) if offsets[i] <= pick < offsets[i + 1])
        spec, base, window, tol = panels[k]
        row = [pick - offsets[k]]
        b, w = base.rows(row), window.rows(row)
        side = "down" if spec.good == "up" else "up"
        model = SeasonalBaseline().fit(b)
        res = model.residuals(w)
        for det in (ZScore(side=side, tolerance=tol, model=model, refit=False),
                    EWMA(lam=config.ewma_lambda, side=side, tolerance=tol, model=model, refit=False),
                    CUSUM(shifts=tuple(config.cusum_shifts), side=side, tolerance=tol, model=model, refit=False)):
            det.fit(b).score_residuals(res)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    scale = total / len(picks)
    return {"series": len(picks), "seconds": seconds, "all": seconds * scale, "cpu_all": cpu * scale,
            "total": total}


def measure_pandas_loop(data: Path, timeline, total: int, sample: int, rng) -> dict:
    """A straightforward pandas implementation, one series at a time, over a sample of series."""
    import numpy as np
    import pandas as pd

    b0, w0, end = timeline
    cube = pd.read_parquet(data / "cube" / "cube.parquet",
                           columns=["ts", "slice", "metric", "numerator", "denominator", "n"])
    keys = cube[["metric", "slice"]].drop_duplicates().to_numpy()
    picks = keys[rng.choice(len(keys), size=min(sample, len(keys)), replace=False)]
    t0 = cube["ts"].min()
    started, cpu = time.perf_counter(), time.process_time()
    for metric, slice_key in picks:
        rows = cube[(cube["metric"] == metric) & (cube["slice"] == slice_key)]
        hours = pd.date_range(t0, periods=end, freq="h")
        s = rows.set_index("ts").reindex(hours)
        value = s["numerator"] / s["denominator"]
        how = hours.dayofweek * 24 + hours.hour
        base = value.iloc[b0:w0]
        stats = base.groupby(how[b0:w0]).agg(["mean", "std"])
        expected = stats["mean"].reindex(how[w0:end]).to_numpy()
        sd = stats["std"].reindex(how[w0:end]).to_numpy()
        z = (value.iloc[w0:end].to_numpy() - expected) / sd
        pd.Series(z).ewm(alpha=0.1, ignore_na=True).mean()
        cusum, path = 0.0, []
        for x in np.nan_to_num(z):
            cusum = max(0.0, cusum + x - 0.5)
            path.append(cusum)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    scale = total / len(picks)
    return {"series": len(picks), "seconds": seconds, "all": seconds * scale, "cpu_all": cpu * scale}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--data", type=Path, help="a generated CX dataset to reuse (generated if absent)")
    parser.add_argument("--sample", type=int, default=200, help="series timed in the per-series loops")
    args = parser.parse_args()
    import numpy as np

    data = _ensure_data(args.orders, args.data)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch:
        cli = measure_cli(data, Path(scratch) / "out")
    stages = measure_stages(data)
    panels, config, timeline = _panels(data)
    rng = np.random.default_rng(0)
    loop = measure_series_loop(panels, config, args.sample, rng)
    naive = measure_pandas_loop(data, timeline, loop["total"], args.sample, rng)
    T = timeline[2]
    print(f"cxw detect over {data}: {loop['total']:,} tested slice × metric series × {T} buckets "
          f"(load average {load[0]:.1f} on {os.cpu_count()} cores)")
    print(f"{'variant':<18} {'series timed':>12} {'seconds':>9} {'all: wall s':>12} {'all: CPU s':>11} {'peak MB':>8}")
    print(f"{'cxw detect':<18} {cli['tested']:>12,} {cli['wall']:>9.1f} {cli['wall']:>12.1f} {cli['cpu']:>11.1f} "
          f"{cli['peak_mb']:>8.0f}")
    for name, r in (("per-series loop", loop), ("pandas loop", naive)):
        print(f"{name:<18} {r['series']:>12,} {r['seconds']:>9.1f} {r['all']:>12.1f} {r['cpu_all']:>11.1f}")
    print(f"per-series loop / cxw detect: {loop['all'] / cli['wall']:.0f}x wall, "
          f"{loop['cpu_all'] / cli['cpu']:.0f}x CPU; "
          f"pandas loop / cxw detect: {naive['all'] / cli['wall']:.0f}x wall, {naive['cpu_all'] / cli['cpu']:.0f}x CPU "
          "(the loops only score; cxw detect also starts Python, reads, localizes and writes)")
    print("scan stages (in process): " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items())
          + "  (read: the cube, one metric at a time; score: fit and score every series)")
    print(f"cxw detect: {cli['wall']:.1f} s wall, {cli['cpu']:.1f} s CPU  (target < 20 s wall on 2 cores); "
          f"{len(cli['regressions'])} regressions: "
          + ", ".join(f"{r['metric']} {r['slice']} {r['relative_change']:+.1%}" for r in cli["regressions"]))


if __name__ == "__main__":
    main()
