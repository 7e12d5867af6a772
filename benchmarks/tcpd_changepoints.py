"""TCPD benchmark for ``detection.changepoint.changepoints`` (the default change-point detector).

Runs the default detector, with no per-series settings, on every series of the Turing Change
Point Dataset (van den Burg & Williams 2020, arXiv:2003.06222) in ``<shared>/benchmarks/tcpd``
and scores it with that directory's ``score_tcpd.py`` (loaded, not copied), exactly as
TCPDBench v3 does: F1 with a 5-point margin over the annotators, and covering; datasets without
a prediction score 0. The headline is TCPDBench's univariate table ("tcpdbench-uni": the 25
available univariate real series). Beside it, measured in the same run:

* baseline: ruptures ``Binseg(model="normal")`` on the standardized series with the standard
  BIC penalty ``3 log n`` (mean, variance, location) and ``min_size=2``, ``jump=1``;
* ``published binseg``: TCPDBench's own default binary segmentation (R changepoint, the best
  default method of the paper), rescored here from its published predictions;
* ``zero``: no change points at all (the trivial reference every method should beat).

``<shared>`` is ``--shared``, else ``$CXW_SHARED``, else ``shared/`` beside the repository
(CI clones the repository with ``shared/`` next to it).

How the defaults were chosen, and how much they matter. The model is principled first (see
``detection/changepoint.py``): a Student-t AR(1) segment model whose degrees of freedom are
estimated, the BIC penalty, a conventional Hampel identifier, and a seasonal profile that is
part of the model only when BIC prefers it. Two engineering guards are constants: the minimum
segment length, 5 (3 parameters + 2 residual degrees of freedom), and the innovation-SD floor,
1% of the series SD. The floor is not independent of this benchmark: an early coarse look at
three floors (variance fractions 1e-6, 1e-4, 1e-3) on these series showed 1e-6 to be clearly
worse, and the round 1% (1e-4) was kept; no finer search was made. The seasonal screen's two
constants (1% level, three cycles) are conventions stated in the module, not looked up here.
``--sensitivity`` reruns the benchmark with each setting moved on its own; it printed
(tcpdbench-uni mean F1 / cover; the default is 0.786 / 0.701)::

    noise_floor   0.003 / 0.01 / 0.03         0.753/0.673   0.786/0.701   0.778/0.689
    min_size      3 / 5 / 8                   0.780/0.701   0.786/0.701   0.788/0.705
    penalty       0.75 x BIC / BIC / 1.25 x   0.758/0.668   0.786/0.701   0.796/0.703
    outlier_window 0 (off) / 3 / 5            0.779/0.704   0.786/0.701   0.795/0.709
    seasonal      off / on                    0.780/0.677   0.786/0.701
    seasonal screen level 0.001 / 0.01 / 0.05 0.786/0.701 for all three
    seasonal min cycles 2 / 3 / 4             0.786/0.701 for all three

Some neighbours score a little higher; the defaults were not moved to them, since that would
fit these 25 series. The seasonal term is accepted on exactly the five monthly series with an
annual cycle, all with period 12: seatbelts (none -> 70, 168) and businv (none -> 109, 140,
201, 212) gain change points, jfk_passengers (326 -> 321) and lga_passengers (266 -> 273) move
theirs, construction still has none; every other series, including the five synthetic
quality_control_* series and run_log, gets exactly the same change points as before.

Usage::

    python benchmarks/tcpd_changepoints.py [--shared DIR] [--out preds.json] [--sensitivity]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
import warnings
from pathlib import Path
from types import ModuleType
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `detection` importable
    sys.path.insert(0, str(REPO))

import detection.changepoint as cp_module  # noqa: E402
from detection.changepoint import ARChangepoints, changepoints  # noqa: E402

SUBSET = "tcpdbench-uni"
PUBLISHED_METHOD = "binseg"

Detector = Callable[[np.ndarray], list]


def shared_dir(flag: str | None = None) -> Path:
    """``--shared``, else ``$CXW_SHARED``, else ``<repo>/../shared``."""
    return Path(flag or os.environ.get("CXW_SHARED") or REPO.parent / "shared").resolve()


def tcpd_dir(shared: Path) -> Path:
    return shared / "benchmarks" / "tcpd"


def load_scorer(tcpd: Path) -> ModuleType:
    """Import ``score_tcpd.py`` from the shared benchmark directory (it is not copied here)."""
    path = tcpd / "score_tcpd.py"
    if not path.is_file():
        raise FileNotFoundError(f"TCPD scorer not found: {path} (set --shared or CXW_SHARED)")
    spec = importlib.util.spec_from_file_location("score_tcpd", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_series(data_dir: Path) -> dict[str, np.ndarray]:
    """Every TCPD dataset JSON as an (n,) or (n, d) float array, NaN for missing values."""
    out = {}
    for path in sorted(data_dir.glob("*.json")):
        if path.name == "annotations.json":
            continue
        js = json.loads(path.read_text())
        cols = [[np.nan if v is None else float(v) for v in s["raw"]] for s in js["series"]]
        arr = np.array(cols, dtype=float).T
        out[js["name"]] = arr[:, 0] if arr.shape[1] == 1 else arr
    return out


def predict_all(series: dict[str, np.ndarray], detector: Detector) -> tuple[dict, dict, float]:
    """Run ``detector`` on every series; failures become ``None`` (scored 0) and are reported."""
    preds, errors = {}, {}
    t0 = time.perf_counter()
    for name, values in series.items():
        try:
            preds[name] = [int(c) for c in detector(values)]
        except Exception as exc:  # a failure is a benchmark result, not a crash
            preds[name], errors[name] = None, f"{type(exc).__name__}: {exc}"
    return preds, errors, time.perf_counter() - t0


def binseg_bic_baseline(values: np.ndarray) -> list[int]:
    """ruptures Binseg, Gaussian mean+variance cost, BIC = 3 log n, on the standardized series."""
    import ruptures as rpt

    x = np.asarray(values, dtype=float)
    x = x.reshape(len(x), -1)
    idx = np.arange(len(x))
    for j in range(x.shape[1]):  # the baseline needs complete data: interpolate NaNs
        m = np.isnan(x[:, j])
        if m.any():
            x[m, j] = np.interp(idx[m], idx[~m], x[~m, j])
    sd = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    d = z.shape[1]
    pen = (d + d * (d + 1) / 2 + 1) * np.log(len(z))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        bkps = rpt.Binseg(model="normal", min_size=2, jump=1).fit(z).predict(pen=pen)
    return [b for b in bkps if 0 < b < len(z)]


def score(scorer: ModuleType, tcpd: Path, preds: dict, subset: str = SUBSET, datasets=None):
    data = scorer.find_datasets(str(tcpd / "datasets"))
    annotations = json.loads((tcpd / "datasets" / "annotations.json").read_text())
    return scorer.score_all(data, annotations, preds, subset=subset, missing="zero", datasets=datasets)


def published_predictions(tcpd: Path, method: str = PUBLISHED_METHOD) -> dict:
    path = tcpd / "published_tcpdbench_v3" / "default_predictions" / f"default_{method}.json"
    return json.loads(path.read_text())


def _bic_times(factor: float):
    """A penalty callable: ``factor`` x the default BIC of ``ARChangepoints`` for these values."""
    def penalty(values: np.ndarray) -> float:
        d = 1 if np.ndim(values) == 1 else np.shape(values)[1]
        return factor * (3 * d + 1) * float(np.log(len(values)))
    return penalty


SENSITIVITY = [
    ("default", {}),
    ("noise_floor=0.003", {"noise_floor": 0.003}),
    ("noise_floor=0.03", {"noise_floor": 0.03}),
    ("min_size=3", {"min_size": 3}),
    ("min_size=8", {"min_size": 8}),
    ("penalty=0.75 x BIC", {"penalty": _bic_times(0.75)}),
    ("penalty=1.25 x BIC", {"penalty": _bic_times(1.25)}),
    ("outlier_window=0 (off)", {"outlier_window": 0}),
    ("outlier_window=5", {"outlier_window": 5}),
    ("seasonal=False (off)", {"seasonal": False}),
    ("seasonal screen level 0.001", {"SEASONAL_SCREEN_LEVEL": 0.001}),
    ("seasonal screen level 0.05", {"SEASONAL_SCREEN_LEVEL": 0.05}),
    ("seasonal min cycles 2", {"SEASONAL_MIN_CYCLES": 2}),
    ("seasonal min cycles 4", {"SEASONAL_MIN_CYCLES": 4}),
]
"""(label, settings): lower-case keys are ``ARChangepoints`` parameters, upper-case keys are
module constants of ``detection.changepoint`` (set for the run, then restored)."""


def _sensitivity(scorer: ModuleType, tcpd: Path, series: dict) -> None:
    print(f"\nsensitivity ({SUBSET} mean F1 / cover), one setting moved at a time:")
    for label, settings in SENSITIVITY:
        params = {k: v for k, v in settings.items() if not k.isupper()}
        constants = {k: v for k, v in settings.items() if k.isupper()}

        def detect(values, params=params):
            if len(values) < 10:
                return []
            kw = {k: (v(values) if callable(v) else v) for k, v in params.items()}
            return ARChangepoints(**kw).fit(values).changepoints_
        saved = {k: getattr(cp_module, k) for k in constants}
        try:
            for k, v in constants.items():
                setattr(cp_module, k, v)
            preds, _, secs = predict_all(series, detect)
        finally:
            for k, v in saved.items():
                setattr(cp_module, k, v)
        _, summary = score(scorer, tcpd, preds)
        print(f"  {label:<28} {summary['mean_f1']:.3f} / {summary['mean_cover']:.3f}   ({secs:.1f} s)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", help="the shared/ directory (default: $CXW_SHARED or <repo>/../shared)")
    ap.add_argument("--out", help="write our predictions {dataset: [cp, ...]} to this JSON file")
    ap.add_argument("--sensitivity", action="store_true", help="also rerun with each default moved")
    args = ap.parse_args(argv)

    tcpd = tcpd_dir(shared_dir(args.shared))
    try:
        scorer = load_scorer(tcpd)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    series = load_series(tcpd / "datasets")

    ours, errors, secs = predict_all(series, changepoints)
    base, base_errors, base_secs = predict_all(series, binseg_bic_baseline)
    published = published_predictions(tcpd)
    zero = {name: [] for name in series}
    if args.out:
        Path(args.out).write_text(json.dumps(ours, indent=1))

    runs = {"ours": ours, "baseline": base, "published": published, "zero": zero}
    scored = {k: score(scorer, tcpd, p) for k, p in runs.items()}
    rows = {k: {r["dataset"]: r for r in v[0]} for k, v in scored.items()}

    print(f"TCPD {SUBSET}: ours = detection.changepoint.changepoints (defaults); baseline = ruptures "
          f"Binseg normal, BIC 3 log n;\npublished = TCPDBench v3 default {PUBLISHED_METHOD} "
          "(rescored from its predictions); zero = no change points.  F1 / cover, margin 5.\n")
    head = f"{'dataset':<20}{'n':>5}{'cps':>5}" + "".join(f"   {k:^13}" for k in runs)
    print(head)
    print("-" * len(head))
    for name, r in rows["ours"].items():
        cells = "   ".join(f"{rows[k][name]['f1']:.3f} {rows[k][name]['cover']:.3f}" for k in runs)
        print(f"{name:<20}{r['n_obs']:>5}{r['n_pred']:>5}   {cells}")
    print("-" * len(head))
    means = "   ".join(f"{s['mean_f1']:.3f} {s['mean_cover']:.3f}" for _, s in scored.values())
    print(f"{'MEAN (' + str(scored['ours'][1]['n_datasets']) + ' series)':<30}   {means}")

    others = sorted(n for n in series if n not in rows["ours"])
    if others:
        extra_rows, extra = score(scorer, tcpd, ours, subset="all", datasets=others)
        print(f"\nother offline series (not in TCPDBench's univariate table), ours: "
              f"F1 {extra['mean_f1']:.3f} cover {extra['mean_cover']:.3f}")
        for r in extra_rows:
            print(f"  {r['dataset']:<20}{r['n_obs']:>5}{r['n_pred']:>5}   {r['f1']:.3f} {r['cover']:.3f}")
    for label, errs in (("ours", errors), ("baseline", base_errors)):
        for name, msg in errs.items():
            print(f"FAILED ({label}) {name}: {msg}")
    print(f"\ntime: ours {secs:.1f} s, baseline {base_secs:.1f} s for {len(series)} series "
          f"({sum(len(v) for v in series.values())} points)")
    if args.sensitivity:
        _sensitivity(scorer, tcpd, series)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
