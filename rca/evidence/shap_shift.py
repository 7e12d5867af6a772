"""SHAP attribution shift: which driver feature carries the regression, and did the driver itself move?

A gradient-boosted model (LightGBM) of the outcome on the workspace's features, its dimensions and the
hour of day is fitted on a sample of records from the baseline and regression windows *pooled*, with no
time input: whatever moved the outcome between the windows must be explained through inputs whose
values moved. TreeSHAP values (Lundberg & Lee 2017, "A Unified Approach to Interpreting Model
Predictions", NeurIPS; the exact tree algorithm of Lundberg et al. 2020, Nature Machine Intelligence
2:56–67, as computed by LightGBM's ``pred_contrib``) split each prediction additively into per-input
contributions in the metric's own units, so

    Δφ_j(A) = mean φ_j over A after − mean φ_j over A before

is the part of the change of the outcome inside scope A that the model attributes to input j, and
``Δφ_j / Δy`` is its share. Intervals come from a bootstrap over records. The driver's own
distribution shift between the windows is measured by the two-sample Kolmogorov–Smirnov test
(numeric) or a χ² test (categorical) and the population stability index (PSI).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from data.engines import key_below, sample_key
from data.parallel import cores
from data.sources import OpenWorkspace, quote
from detection.types import Interval
from metrics.definitions import value_labels
from rca.measures import Measures
from rca.types import FeatureShift, SampleSizing, ShapDetail, ShapEvidence, ShapInput, verdict

HOUR_INPUT = "_hour_of_day"


@dataclass(frozen=True, eq=False)
class Sample:
    """A sample of records with model inputs, per-record metric sums and timestamps."""

    frame: pd.DataFrame
    features: tuple[str, ...]
    dims: tuple[str, ...]  # dimensions used as model inputs
    categorical: tuple[str, ...]  # inputs treated as categories
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.features + self.dims + (HOUR_INPUT,)

    def times(self) -> np.ndarray:
        return self.frame["_ts"].to_numpy()


def _is_categorical(duck_type: str) -> bool:
    t = duck_type.upper()
    return t in ("VARCHAR", "BOOLEAN", "UUID", "ENUM") or t.startswith(("VARCHAR", "ENUM"))


def draw_sample(ow: OpenWorkspace, measures: Measures, start: datetime, end: datetime, rows: int,
                focus: str | None = None, focus_rows: int = 0, max_levels: int = 1000,
                cardinality: dict[str, int] | None = None, seed: int = 0) -> Sample:
    """A deterministic sample of about ``rows`` records in ``[start, end)``, plus about ``focus_rows`` more
    inside the SQL predicate ``focus`` (the regressing scopes), so small scopes are well covered: the
    records whose `data.engines.sample_key` falls below each share, the same records on either engine."""
    ws = ow.workspace
    ts = quote(ws.records.timestamp)
    features = tuple(ws.records.features)
    cardinality = cardinality or {}
    dims = tuple(d for d in ws.records.dimensions if cardinality.get(d, 0) <= max_levels and d not in features)
    window = f"{ts} >= ? AND {ts} < ?"
    counts = ow.engine.row(
        f"SELECT count(*), count(*) FILTER (WHERE {focus or 'FALSE'}) FROM records WHERE {window}", [start, end])
    total, in_focus = int(counts[0]), int(counts[1] or 0)
    p_all = min(1.0, rows / max(total, 1))
    p_focus = min(1.0, p_all + focus_rows / max(in_focus, 1)) if focus else p_all
    keep = key_below("_sample_key", p_all)
    if focus:  # one key per record, compared once (p_focus >= p_all): an OR of two would compute it twice
        keep = f"CASE WHEN {focus} THEN {key_below('_sample_key', p_focus)} ELSE {keep} END"
    all_dims = tuple(d for d in ws.records.dimensions if d not in features)
    cols = [f"{quote(c)}" for c in features] + [f"CAST({quote(d)} AS VARCHAR) AS {quote(d)}" for d in all_dims]
    cols += [f"{ts} AS _ts", f"CAST(hour({ts}) AS INTEGER) AS {HOUR_INPUT}"] + measures.record_columns()
    # in key order (ties by value): a parallel scan returns rows in any order, and the model fitted on them
    # (its bins, its trees) would change from run to run with it
    order = ", ".join(["_sample_key"] + [str(i) for i in range(1, len(cols) + 1)])
    frame = ow.engine.frame(
        f"SELECT {', '.join(cols)} FROM (SELECT *, {sample_key(ow.columns, seed, ow.workspace.records.id)} AS _sample_key FROM records "
        f"WHERE {window}) WHERE {keep} ORDER BY {order}", [start, end])
    categorical = tuple(c for c in features if _is_categorical(ow.columns.get(c, ""))) + dims
    for c in categorical:
        frame[c] = value_labels(frame[c]).astype("category")
    for d in all_dims:
        if d not in dims:
            frame[d] = value_labels(frame[d])
    for c in features:
        if c not in categorical:
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
    frame["_ts"] = pd.to_datetime(frame["_ts"])
    return Sample(frame, features, dims, categorical)


@dataclass(frozen=True, eq=False)
class Attribution:
    """A fitted outcome model; TreeSHAP values are computed lazily, only for the rows a test asks about."""

    metric: str
    booster: Any
    X: pd.DataFrame
    target: np.ndarray
    weight: np.ndarray
    inputs: tuple[str, ...]
    r2: float
    contributions: np.ndarray  # (rows, inputs) SHAP values in metric units; NaN until computed

    def explain(self, rows: np.ndarray) -> np.ndarray:
        """SHAP values of ``rows`` (indices into the sample), computing the missing ones."""
        missing = rows[~np.isfinite(self.contributions[rows, 0])]
        if len(missing):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # TreeSHAP row by row on every core: each row's values do not depend on the threads
                values = self.booster.predict(self.X.iloc[missing], pred_contrib=True, num_threads=cores())
            self.contributions[missing] = np.asarray(values)[:, : len(self.inputs)]
        return self.contributions[rows]


MODEL_PARAMS = {"objective": "regression", "learning_rate": 0.15, "num_leaves": 15, "max_depth": 4,
                "min_data_in_leaf": 100, "lambda_l2": 1.0, "num_threads": 1, "deterministic": True,
                "force_col_wise": True, "verbose": -1, "max_cat_to_onehot": 8, "cat_smooth": 20.0}


def fit_attribution(sample: Sample, measures: Measures, metric: str, seed: int = 0, rounds: int = 60
                    ) -> Attribution | None:
    """Fit LightGBM on the sample, with no time input (cached per metric); None when the metric has fewer
    than 500 sampled records. Shallow trees keep TreeSHAP (cost ∝ trees × leaves × depth²) cheap."""
    import lightgbm as lgb

    key = ("attribution", metric)
    if key in sample._cache:
        return sample._cache[key]
    target, weight = measures.record_target(sample.frame, metric)
    ok = np.isfinite(target) & (weight > 0)
    if ok.sum() < 500:
        sample._cache[key] = None
        return None
    X = sample.frame.loc[:, list(sample.inputs)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = lgb.Dataset(X[ok], label=target[ok], weight=weight[ok], categorical_feature=list(sample.categorical),
                           free_raw_data=True)
        booster = lgb.train({**MODEL_PARAMS, "seed": seed}, data, num_boost_round=rounds)
        check = np.flatnonzero(ok)[:: max(1, int(ok.sum()) // 5000)]
        pred = booster.predict(X.iloc[check])
    w, t = weight[check], target[check]
    r2 = 1.0 - np.average((t - pred) ** 2, weights=w) / max(np.average((t - np.average(t, weights=w)) ** 2, weights=w), 1e-12)
    weight = np.where(ok, weight, 0.0)
    contrib = np.full((len(target), len(sample.inputs)), np.nan)
    result = Attribution(metric, booster, X, target, weight, sample.inputs, float(r2), contrib)
    sample._cache[key] = result
    return result


@dataclass(frozen=True)
class Shift:
    """Attribution and distribution shift of every input inside one scope, between two windows."""

    inputs: tuple[str, ...]
    delta_phi: np.ndarray  # Δ mean SHAP per input
    delta_abs_phi: np.ndarray  # Δ mean |SHAP| per input
    low: np.ndarray  # bootstrap 95% interval of Δφ
    high: np.ndarray
    delta_y: float  # observed change of the outcome in the sample
    delta_model: float  # Σ Δφ
    n_before: int
    n_after: int
    share_low: np.ndarray | None = None  # bootstrap 95% interval of each input's share Δφ / Δy (both resampled)
    share_high: np.ndarray | None = None
    precision_target: float = float("nan")  # the 95% half-width of the leading share the sample was sized for
    precision: float = float("nan")  # the half-width reached (of the change; 0.05 = ±5% of it)
    pilot_rows: int = 0  # records per window of the pilot that sized the sample
    max_rows: int = 0  # the cap on records per window (TreeSHAP's cost)

    def share(self, name: str) -> float:
        j = self.inputs.index(name)
        return float(self.delta_phi[j] / self.delta_y) if self.delta_y else 0.0


RESIZES = 2  # sample-size re-estimations after the pilot


def attribution_shift(att: Attribution, before: np.ndarray, after: np.ndarray, seed: int = 0, boot: int = 200,
                      precision: float = 0.05, pilot: int = 500, max_rows: int = 8_000) -> Shift | None:
    """Δ mean SHAP per input between rows ``before`` and ``after`` (boolean masks), with bootstrap intervals,
    on a random subset per window sized for a stated precision.

    A pilot of ``pilot`` records per window gives the bootstrap 95% half-width h of the leading input's share
    of the change (the input with the largest |Δφ|; Δφ and Δy resampled together); a mean's standard error
    falls as 1/√n, so n = pilot · (h / ``precision``)² records per window make that interval ± ``precision`` of the
    change (the sample size for a given margin of error, Cochran 1977, *Sampling Techniques*, §4.4), capped
    by ``max_rows`` (TreeSHAP's cost) and by what the sample holds. The pilot's h is itself an estimate, so
    while the half-width reached still misses the target the size is estimated again from the latest sample
    (at most ``RESIZES`` times: sequential re-estimation of the sample size, Wittes & Brittain 1990, *Stat.
    Med.* 9:65–72). The size, the target and the precision reached are returned with the shift.
    """
    rng = np.random.default_rng(seed)
    usable = att.weight > 0
    b = rng.permutation(np.flatnonzero(before & usable))
    a = rng.permutation(np.flatnonzero(after & usable))
    if len(b) < 30 or len(a) < 30:
        return None

    def measure(nb: int, na: int) -> tuple:
        rb, ra = np.sort(b[:nb]), np.sort(a[:na])
        phi_b, phi_a = att.explain(rb), att.explain(ra)
        wb, wa = att.weight[rb], att.weight[ra]
        yb, ya = att.target[rb], att.target[ra]
        d = np.average(phi_a, axis=0, weights=wa) - np.average(phi_b, axis=0, weights=wb)
        d_abs = np.average(np.abs(phi_a), axis=0, weights=wa) - np.average(np.abs(phi_b), axis=0, weights=wb)
        ib = rng.integers(0, len(rb), (boot, len(rb)))
        ia = rng.integers(0, len(ra), (boot, len(ra)))
        # each replicate's weighted means at once: how often it drew each row, times the weighted values
        mean_a = _resampled_means(ia, wa, np.column_stack([phi_a, ya]))
        mean_b = _resampled_means(ib, wb, np.column_stack([phi_b, yb]))
        reps, dys = mean_a[:, :-1] - mean_b[:, :-1], mean_a[:, -1] - mean_b[:, -1]
        dy = float(np.average(ya, weights=wa) - np.average(yb, weights=wb))
        # the share Δφ_j / Δy with both resampled together: the sample's own Δy is noisy too
        with np.errstate(divide="ignore", invalid="ignore"):
            shares = reps / dys[:, None]
        shares[~np.isfinite(shares)] = np.nan  # a resample with no change at all has no share
        if np.isnan(shares).all():
            low = high = np.full(shares.shape[1], np.nan)
        else:
            low, high = np.nanpercentile(shares, 2.5, axis=0), np.nanpercentile(shares, 97.5, axis=0)
        lead = int(np.argmax(np.abs(d)))
        return d, d_abs, reps.std(axis=0), dy, low, high, float((high[lead] - low[lead]) / 2), len(rb), len(ra)

    n0 = min(pilot, len(b), len(a))
    d, d_abs, spread, dy, low, high, reached, nb, na = measure(min(pilot, len(b)), min(pilot, len(a)))
    for _ in range(RESIZES):
        if not (np.isfinite(reached) and reached > precision):
            break
        need = int(np.ceil(min(nb, na) * (reached / precision) ** 2))
        grown = min(need, max_rows, len(b)), min(need, max_rows, len(a))
        if grown[0] <= nb and grown[1] <= na:
            break  # at a cap: TreeSHAP's or what the sample holds
        d, d_abs, spread, dy, low, high, reached, nb, na = measure(*grown)
    return Shift(att.inputs, d, d_abs, d - 1.96 * spread, d + 1.96 * spread, dy, float(d.sum()), nb, na,
                 low, high, precision, reached, n0, max_rows)


def _resampled_means(draws: np.ndarray, weight: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Weighted column means of ``values`` over each bootstrap replicate's rows (``draws``: replicates ×
    row indices), as ``np.average(values[d], axis=0, weights=weight[d])`` per replicate, through the
    replicate × row count matrix (one product instead of a gather per replicate)."""
    boot, n = draws.shape
    counts = np.bincount((draws + n * np.arange(boot)[:, None]).ravel(), minlength=boot * n).reshape(boot, n)
    counts = counts * weight[None, :]
    return (counts @ values) / counts.sum(axis=1)[:, None]


def psi(before: np.ndarray, after: np.ndarray, categorical: bool, bins: int = 10) -> float:
    """Population stability index between two samples (quantile bins of ``before`` for numbers)."""
    if not categorical:
        before, after = before[np.isfinite(before)], after[np.isfinite(after)]
        if len(np.unique(np.concatenate([before, after]))) <= 2 * bins:
            categorical = True  # a discrete number (a threshold, a count): compare its values as levels
    if categorical:
        levels = np.union1d(np.unique(before), np.unique(after))
        pb = np.array([(before == v).mean() for v in levels])
        pa = np.array([(after == v).mean() for v in levels])
    else:
        if len(before) < 10 or len(after) < 10:
            return 0.0
        edges = np.unique(np.quantile(before, np.linspace(0, 1, bins + 1)[1:-1]))
        pb = np.bincount(np.searchsorted(edges, before, side="right"), minlength=len(edges) + 1) / len(before)
        pa = np.bincount(np.searchsorted(edges, after, side="right"), minlength=len(edges) + 1) / len(after)
    pb, pa = np.clip(pb, 1e-4, None), np.clip(pa, 1e-4, None)
    return float(np.sum((pa - pb) * np.log(pa / pb)))


@dataclass(frozen=True)
class DistributionShift:
    feature: str
    categorical: bool
    psi: float
    p_value: float
    test: Literal["ks", "chi2"]
    before: float | str  # mean (numeric) or the level whose share moved most (categorical)
    after: float | str
    level: str | None = None  # categorical: the level whose share moved most
    share_before: float | None = None
    share_after: float | None = None

    @property
    def shifted(self) -> bool:
        return self.p_value < 1e-3 and self.psi >= 0.01


def distribution_shift(sample: Sample, feature: str, before: np.ndarray, after: np.ndarray) -> DistributionShift | None:
    """How ``feature``'s distribution moved between the rows ``before`` and ``after`` (boolean masks)."""
    col = sample.frame[feature]
    categorical = feature in sample.categorical
    xb, xa = col[before].to_numpy(), col[after].to_numpy()
    if len(xb) < 20 or len(xa) < 20:
        return None
    if categorical:
        xb, xa = xb.astype(str), xa.astype(str)
        levels = np.union1d(np.unique(xb), np.unique(xa))
        cb = np.array([(xb == v).sum() for v in levels])
        ca = np.array([(xa == v).sum() for v in levels])
        moved = ca / ca.sum() - cb / cb.sum()
        j = int(np.argmax(np.abs(moved)))
        if len(levels) < 2:
            p = 1.0
        else:
            table = np.vstack([cb, ca])
            table = table[:, table.sum(axis=0) > 0]
            p = float(stats.chi2_contingency(table)[1]) if table.shape[1] > 1 else 1.0
        return DistributionShift(feature, True, psi(xb, xa, True), p, "chi2", str(levels[j]), str(levels[j]),
                                 level=str(levels[j]), share_before=float(cb[j] / cb.sum()),
                                 share_after=float(ca[j] / ca.sum()))
    xb, xa = xb.astype(float), xa.astype(float)
    xb, xa = xb[np.isfinite(xb)], xa[np.isfinite(xa)]
    if len(xb) < 20 or len(xa) < 20:
        return None
    p = float(stats.ks_2samp(xb, xa, method="asymp").pvalue) if np.ptp(np.concatenate([xb, xa])) > 0 else 1.0
    return DistributionShift(feature, False, psi(xb, xa, False), p, "ks", float(xb.mean()), float(xa.mean()))


def shap_evidence(feature: str | None, shift: Shift | None, dist: DistributionShift | None, scope_label: str,
                  r2: float | None) -> ShapEvidence:
    """SHAP evidence for a driver inside a scope: its share of the change and its own distribution shift."""
    if feature is None or shift is None:
        reason = "no driver feature carries the change" if feature is None else "too few sampled records in the scope"
        top: tuple[ShapInput, ...] = ()
        if shift is not None:
            order = np.argsort(-np.abs(shift.delta_phi))[:3]
            top = tuple(ShapInput(input=shift.inputs[j], delta_shap=float(shift.delta_phi[j])) for j in order)
        return ShapEvidence(effect=0.0, supports=False, detail=ShapDetail(feature=feature, reason=reason, top_inputs=top))
    j = shift.inputs.index(feature)
    share = shift.share(feature)
    lo, hi = shift.low[j], shift.high[j]
    if shift.share_low is not None and shift.share_high is not None and shift.delta_y:
        lo_s, hi_s = float(shift.share_low[j]), float(shift.share_high[j])
    elif shift.delta_y:
        lo_s, hi_s = sorted((lo / shift.delta_y, hi / shift.delta_y))
    else:
        lo_s, hi_s = 0.0, 0.0
    se = max((hi - lo) / 3.92, 1e-12)
    p = float(2 * stats.norm.sf(abs(shift.delta_phi[j]) / se))
    order = np.argsort(-np.abs(shift.delta_phi))[:5]
    supports = share >= 0.25 and lo_s > 0 and (dist is None or dist.shifted)
    moved = "" if dist is None else (f" and its own distribution shifted ({dist.test} p = {dist.p_value:.2g}, "
                                     f"PSI {dist.psi:.2f})")
    rule = verdict(f"{feature} carries {share:.0%} ≥ 25% of the change (95% interval {lo_s:.0%} to {hi_s:.0%}, "
                   f"above 0){moved}, on {shift.n_before:,} sampled records before and {shift.n_after:,} after "
                   f"(sized for ±{shift.precision_target:.0%} of the change, at most {shift.max_rows:,} per window; "
                   f"reached ±{shift.precision:.1%})",
                   bool(supports), "the driver explains the change", "the driver does not explain the change")
    detail = ShapDetail(
        feature=feature, scope=scope_label, share_of_change=round(share, 4),
        delta_mean_shap=float(shift.delta_phi[j]), delta_mean_abs_shap=float(shift.delta_abs_phi[j]),
        observed_change=shift.delta_y, model_change=shift.delta_model, rows_before=shift.n_before,
        rows_after=shift.n_after, sample_sizing=SampleSizing(
            pilot_rows=shift.pilot_rows, target_half_width=shift.precision_target,
            reached_half_width=None if not np.isfinite(shift.precision) else round(shift.precision, 4),
            max_rows=shift.max_rows,
            rule="rows per window = pilot × (pilot half-width of the leading share's 95% interval / target)², "
                 f"at most {shift.max_rows:,} (TreeSHAP's cost) and at most what the sample holds"),
        model_r2=None if r2 is None else round(r2, 4),
        top_inputs=tuple(ShapInput(input=shift.inputs[i], delta_shap=float(shift.delta_phi[i])) for i in order),
        interval_is="bootstrap 95% interval of the share",
        distribution=None if dist is None else FeatureShift(
            test=dist.test, p_value=dist.p_value, psi=round(dist.psi, 4), before=dist.before, after=dist.after,
            level=dist.level, share_before=dist.share_before, share_after=dist.share_after))
    return ShapEvidence(effect=round(share, 4), interval=Interval(round(lo_s, 4), round(hi_s, 4)), p_value=p,
                        supports=bool(supports), rule=rule, detail=detail)
