"""Multi-dimensional root-cause localization: which slices explain an anomaly in a KPI.

Given one row per leaf (a full combination of dimension values) with the observed value ``real`` and
the forecast ``predict`` of an additive KPI, or numerator and denominator leaves of a ratio KPI,
return the few slices (``dim=value`` conjunctions at any depth) whose change explains the anomaly.

Algorithm — penalized quasi-likelihood slice pursuit (this module; helpers in ``localize_models``
and ``localize_search``):

* Model. Each leaf's mean is its expectation ``E`` under "nothing happened" (the forecast; for a
  ratio, observed denominator × forecast rate) times the product of the factors of the selected
  slices that contain it: a root cause scales all of its leaves, as in the anomaly model of Squeeze
  (Li et al., ISSRE 2019) and RiskLoc (Kalander 2022, arXiv:2205.10004); overlapping causes
  multiply. Noise variance is ``(a + s·w)·w`` in the leaf's volume ``w``: count-like ``a`` plus
  relative ``s``, fitted robustly under the null, so a relative drop of a tiny leaf is found while
  low-volume noise is not over-read (the PSqueeze concern, Li et al. 2022). A cuboid of root causes
  may be noisier than the rest (the per-leaf spread of an anomaly), which extended quasi-likelihood
  (Nelder & Pregibon 1987) absorbs; it pays a BIC price for it and may never be quieter than the
  null, so neither noise inside a cause looks like more causes nor a mis-sized null looks like one.
* Score. ``-2·quasi-log-likelihood + Σ penalty``; a slice of depth l costs ``penalty·ln(M_l) +
  penalty_offset`` with ``M_l`` the number of candidate slices of that depth — the Bonferroni / MDL
  price of having looked at all of them, which is what keeps the answer succinct (HotSpot's and
  Squeeze's succinctness, iDice's significance, without their thresholds).
* Search. Greedy forward selection over every slice of every cuboid, screened in one vectorized
  pass per cuboid (``np.bincount`` of score-test terms; the best few are refitted exactly), then
  local moves — drop a slice; replace slices by their common parent; replace a slice and the
  slices of one cuboid overlapping it by their intersections; split a slice into descendants when
  some descendant still deviates — until the score stops improving. Selected slices are never
  nested, and never all the children of one slice along one dimension (the parent is the succinct
  answer; their differences are its noise). When the found slices cover much of the data the null
  noise is re-estimated from the leaves outside them and the search resumes, without splitting the
  found slices (a large anomaly inflates the first estimate: the "wrong side" failure of RiskLoc
  when most leaves are anomalous; the new null describes ordinary leaves, not a cause's own spread).
  Overlapping factors of a ratio KPI are fitted jointly by Newton's method (a log-linear Poisson
  model), those of an additive KPI by coordinate ascent.

* Stop. The pursuit's slices are candidates; what is reported is calibrated to the data's own
  noise (`null_scale`, `_significant`, `_coarsen`): per depth, the upper tail of the evidence of
  every slice unrelated to the candidates, against chi-square(1), says how much wider the null is
  than the model (Efron's empirical null, JASA 2004: a noisy forecast and the discrete counts of
  small leaves fatten it most in deep cuboids); best first, a candidate is kept when its leaves
  outside the better kept slices still carry a significant share of the remaining anomaly, at a
  Benjamini–Hochberg (1995) level over every slice of the lattice, paying its depth's price in
  units of that null spread; siblings the evidence does not separate become their parent.
* Signed values. A mean of values that can be negative, or a signed sum, is localized by its
  deviation per unit of volume (`GaussianNoise` with a volume), with no non-negativity assumption.

Compared with Adtributor (Bhagwan et al., NSDI 2014: one dimension at a time), HotSpot (Sun et al.
2018: Monte-Carlo tree search, ripple effect), Squeeze (deviation-score clustering), AutoRoot and
RiskLoc (risk scores with a 2% explanatory-power cut-off), there is no per-data-set threshold: the
knobs are the penalty, the dispersion prior and the false-discovery level, with one default for
every data set.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.stats import chi2

from detection.localize_models import GaussianNoise, PoissonNoise
from detection.localize_search import Lattice, Pursuit, mixed_radix
from detection.types import Slice

__all__ = ["LocalizeConfig", "localize", "localize_ratio"]


@dataclass(frozen=True)
class LocalizeConfig:
    """Tuning knobs of the slice pursuit; the defaults are used for every data set.

    penalty, penalty_offset: a slice of depth l costs ``penalty·ln(M_l) + penalty_offset`` in
        -2·log-likelihood units, M_l = number of non-empty candidate slices of depth l.
    max_slices: the most slices returned.
    max_depth: deepest slice considered (None: every dimension).
    screen: candidates per step refitted exactly after the vectorized screening.
    dispersion_prior: pseudo-leaves pulling a cuboid's own dispersion towards the null's (a few
        leaves cannot claim a variance of their own).
    fdr: false-discovery level of the reported slices among every slice of the lattice.
    """

    penalty: float = 2.0
    penalty_offset: float = 8.0
    max_slices: int = 20
    max_depth: int | None = None
    screen: int = 8
    dispersion_prior: float = 10.0
    fdr: float = 0.05

    @classmethod
    def from_params(cls, params: dict) -> "LocalizeConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"unknown localize parameter(s) {unknown}; known: {sorted(known)}")
        return cls(**params)


_SEARCHES = 2  # the first search, and one after the null is re-estimated outside its slices


# --------------------------------------------------------------------------- public entry points


def localize(
    leaves: pd.DataFrame,
    dims: Sequence[str],
    real: str = "real",
    predict: str = "predict",
    weight: str | None = None,
    **params,
) -> list[Slice]:
    """Root-cause slices of an additive KPI (a sum over leaves), ranked best first.

    ``leaves`` has one row per combination of the ``dims`` values (duplicates are summed) with the
    observed ``real`` and forecast ``predict``, of any sign. A root cause scales its leaves when the
    KPI is non-negative; when a value is negative (a sum of signed amounts) or a ``weight`` column
    (the leaf's records, non-negative) is given, it shifts them by an amount per unit of weight
    (``|predict|`` without a weight). Returns [] when nothing deviates beyond the noise.
    ``Slice.share`` is the slice's fraction of the total change ``sum(real) - sum(predict)``;
    ``Slice.score`` is how much worse (in -2·log-likelihood) the explanation gets without it.
    Keyword ``params`` override the fields of :class:`LocalizeConfig`.
    """
    cfg = LocalizeConfig.from_params(params)
    dims = _check_dims(dims)
    _validate(leaves, dims, (real, predict), "leaves")
    if weight is not None:
        _validate(leaves, dims, (weight,), "leaves", non_negative=True)
    codes, labels = _encode(leaves[dims])
    columns = (real, predict) if weight is None else (real, predict, weight)
    arrays = [leaves[c].to_numpy(dtype=float) for c in columns]
    codes, arrays = _merge_duplicates(codes, [len(v) for v in labels], arrays)
    y, e = arrays[0], arrays[1]
    if weight is not None:
        model = GaussianNoise(y, e, arrays[2])
    elif (y < 0).any() or (e < 0).any():
        model = GaussianNoise(y, e, np.abs(e))
    else:
        model = GaussianNoise(y, e)
    total_change = float(y.sum() - e.sum())
    return _run(codes, labels, dims, model, y - e, total_change, cfg)


def localize_ratio(
    numerator: pd.DataFrame,
    denominator: pd.DataFrame,
    dims: Sequence[str],
    real: str = "real",
    predict: str = "predict",
    **params,
) -> list[Slice]:
    """Root-cause slices of a derived KPI ``sum(numerator) / sum(denominator)``, ranked best first.

    The two frames share the ``dims`` columns (rows are matched on them; a leaf missing from one
    side counts as zero there). A slice is a root cause when its rate ``num/den`` moved away from the
    forecast rate ``predict_num/predict_den`` given its observed denominator.

    Non-negative numerators (events, amounts) are judged as counts (quasi-Poisson), so a noisy
    low-volume slice does not outrank a high-volume one; each leaf's forecast rate is pulled toward
    the overall rate by a prior worth one expected event (``1 / overall rate`` units of denominator:
    a leaf whose short history saw no failure is not forecast to never fail; Laplace's rule of
    succession, with the overall rate as the prior mean). A numerator or
    denominator with a negative value (a mean of delays where early is negative) is judged by its
    deviation per unit of ``|denominator|`` instead (Gaussian, count-like plus relative noise).
    ``Slice.share`` is the slice's fraction of the rate-driven change of the numerator,
    ``sum(real_num) - sum(real_den · predicted rate)``.
    """
    cfg = LocalizeConfig.from_params(params)
    dims = _check_dims(dims)
    _validate(numerator, dims, (real, predict), "numerator")
    _validate(denominator, dims, (real, predict), "denominator")
    num = numerator[[*dims, real, predict]]
    den = denominator[[*dims, real, predict]]
    if len(num) == len(den) and num[dims].reset_index(drop=True).equals(den[dims].reset_index(drop=True)):
        values = den[[real, predict]].reset_index(drop=True)  # the same leaves in the same order
        merged = pd.concat([num.reset_index(drop=True).rename(columns={real: f"{real}_num", predict: f"{predict}_num"}),
                            values.rename(columns={real: f"{real}_den", predict: f"{predict}_den"})], axis=1)
    else:
        merged = num.merge(den, on=dims, how="outer", suffixes=("_num", "_den"))
    codes, labels = _encode(merged[dims])
    cols = [f"{real}_num", f"{predict}_num", f"{real}_den", f"{predict}_den"]
    arrays = [merged[c].to_numpy(dtype=float) for c in cols]
    arrays = [np.nan_to_num(a, nan=0.0) for a in arrays]
    codes, (a_real, a_pred, b_real, b_pred) = _merge_duplicates(codes, [len(v) for v in labels], arrays)
    signed = any((x < 0).any() for x in (a_real, a_pred, b_real, b_pred))
    overall = a_pred.sum() / b_pred.sum() if b_pred.sum() != 0 else 0.0
    prior = 1.0 / overall if overall > 0 and not signed else 0.0  # denominator units worth one event
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(b_pred + prior != 0, (a_pred + prior * overall) / (b_pred + prior), overall)
    expected = b_real * rate
    if signed:
        model = GaussianNoise(a_real, expected, np.abs(b_real))
    else:
        model = PoissonNoise(a_real, expected)
    total_change = float(a_real.sum() - expected.sum())
    return _run(codes, labels, dims, model, a_real - expected, total_change, cfg)


# --------------------------------------------------------------------------- input handling


def _check_dims(dims: Sequence[str]) -> list[str]:
    if isinstance(dims, str):
        dims = [dims]
    dims = list(dims)
    if not dims:
        raise ValueError("dims: give at least one dimension column")
    if len(set(dims)) != len(dims):
        raise ValueError(f"dims: duplicated dimension in {dims}")
    return dims


def _validate(frame: pd.DataFrame, dims: list[str], value_cols: Sequence[str], what: str,
              non_negative: bool = False) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in [*dims, *value_cols] if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(map(repr, missing))}")
    if len(frame) == 0:
        raise ValueError(f"{what}: no rows")
    for c in value_cols:
        if c in dims:
            raise ValueError(f"{what}: column {c!r} is both a dimension and a value column")
        col = frame[c]
        if not (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
            raise ValueError(f"{what}: column {c!r} is not numeric (dtype {col.dtype})")
        values = col.to_numpy(dtype=float)
        if not np.isfinite(values).all():
            row = int(np.flatnonzero(~np.isfinite(values))[0])
            raise ValueError(f"{what}: column {c!r} has a missing or infinite value (row {row})")
        if non_negative and (values < 0).any():
            row = int(np.flatnonzero(values < 0)[0])
            raise ValueError(f"{what}: column {c!r} has a negative value (row {row})")


def _encode(frame: pd.DataFrame) -> tuple[np.ndarray, list[np.ndarray]]:
    """Integer codes (n_leaves, n_dims) and, per dimension, the value labels as strings."""
    codes = np.empty((len(frame), frame.shape[1]), dtype=np.int64)
    labels = []
    for j, col in enumerate(frame.columns):
        c, uniques = pd.factorize(frame[col].astype(str), sort=True)
        codes[:, j] = c
        labels.append(np.asarray(uniques, dtype=object))
    return codes, labels


def _merge_duplicates(codes: np.ndarray, cards: list[int], arrays):
    """Sum rows that repeat the same combination of dimension values."""
    key = mixed_radix(codes, cards)
    if key is None:
        _, first, inv = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    else:
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    if len(first) == len(codes):
        return codes, arrays
    inv = inv.ravel()
    return codes[first], [np.bincount(inv, weights=a, minlength=len(first)) for a in arrays]


def _run(codes, labels, dims, model, leaf_change, total_change, cfg: LocalizeConfig) -> list[Slice]:
    keep = model.keep()
    if not keep.any():
        return []
    model.restrict(keep)
    lattice = Lattice(codes[keep], [len(v) for v in labels], cfg.max_depth)
    fit, pursuit = _search(lattice, model, cfg)
    return _describe(fit.selected, lattice, pursuit, dims, labels, leaf_change[keep], total_change, cfg.fdr)


def _describe(selected, lattice: Lattice, pursuit: Pursuit, dims, labels, change, total_change,
              fdr: float) -> list[Slice]:
    """The selected slices that are significant once the better ones explain their leaves
    (`_significant`), each replaced by a parent when the change reaches beyond it (`_coarsen`), as
    `Slice`s ranked by score."""
    fit = pursuit.fit(selected)
    scale = null_scale(fit, pursuit)
    kept = _coarsen(_significant(_ranked(fit, pursuit), lattice, pursuit, scale, fdr), lattice, pursuit, scale, fdr)
    fit = pursuit.fit(kept)
    out = []
    for s, score in _ranked(fit, pursuit):
        carried = float(change[lattice.members(s)].sum())
        filters = tuple(sorted((dims[j], str(labels[j][v])) for j, v in lattice.filters(s).items()))
        out.append(Slice(filters, share=carried / total_change if total_change else 0.0, score=score))
    out.sort(key=lambda sl: (-sl.score, sl.key))
    return out


def _ranked(fit, pursuit: Pursuit) -> list[tuple]:
    """The fit's slices with their scores (how much worse the penalized fit gets without each), best first."""
    scored = [(s, pursuit.total(pursuit.fit(tuple(t for t in fit.selected if t != s))) - pursuit.total(fit))
              for s in fit.selected]
    return sorted(scored, key=lambda item: (-item[1], pursuit.lat.filters(item[0]).items().__repr__()))


def null_scale(fit, pursuit: Pursuit) -> dict[int, float]:
    """Per depth, how much wider than the model says the evidence of slices that are no root cause
    spreads in this data set: the score-test gains of every slice unrelated to the selected ones
    (neither inside nor above one), under the fit, are compared in their upper tail — the tenth
    largest per depth, or the top tenth — with chi-square(1), allowing the chance spread of that
    order statistic (two standard errors of its tail count), never below 1.

    The noise model is fitted on the bulk of the leaves; what decides a false root cause is the tail
    of the slice statistics, which a noisy forecast, discrete counts of small leaves or a heavy-tailed
    spread inflates, and inflates most among the many small slices of deep cuboids. Calibrating each
    depth on its own null slices is the empirical-null idea of Efron (2004, JASA 99:96) applied to
    the lattice (and the per-depth price of HotSpot's and Squeeze's succinctness, made data-driven)."""
    lat, model = pursuit.lat, pursuit.model
    idx = np.arange(lat.n_leaves)
    p, q = model.screen_terms(idx, *pursuit.leaf_state(fit, idx))
    gains: dict[int, list[np.ndarray]] = {}
    for c, slice_of in enumerate(lat.slice_of):
        k = lat.n_slices(c)
        g = model.screen_gain(np.bincount(slice_of, weights=p, minlength=k), np.bincount(slice_of, weights=q, minlength=k))
        null = np.ones(k, dtype=bool)
        for s in fit.selected:
            null[pursuit.related_slices(s)[c]] = False
        gains.setdefault(int(lat.depth_of[c]), []).append(g[null])
    scale = {}
    for depth, parts in gains.items():
        g = np.concatenate(parts)
        if len(g) < 20:
            scale[depth] = 1.0
            continue
        k = min(0.1 * len(g), max(10.0, 0.01 * len(g)))  # the k-th largest null gain...
        # ...against the chi-square(1) quantile it would pass with two standard errors to spare, so
        # the chance spread of an order statistic does not widen a null the model has right
        reference = float(chi2.isf(min((k + 2.0 * np.sqrt(k)) / len(g), 0.5), 1))
        scale[depth] = max(1.0, float(np.quantile(g, 1.0 - k / len(g))) / reference)
    return scale


def _remaining_evidence(pursuit: Pursuit, fit, rest: np.ndarray, scale: float) -> tuple[float, float]:
    """Gain of a common factor on the leaves ``rest`` under ``fit`` (the pursuit's score test, in
    units of the null spread ``scale`` of the slice's depth; about chi-square(1) for ordinary
    leaves) and the sign of their change from the fit."""
    model = pursuit.model
    mu, phi = pursuit.leaf_state(fit, rest)
    p, q = model.screen_terms(rest, mu, phi)
    gain = float(model.screen_gain(np.array([p.sum()]), np.array([q.sum()]))[0]) / scale
    return gain, float(np.sign(np.sum(model.y[rest] - mu)))


def _significant(ranked, lattice: Lattice, pursuit: Pursuit, scale: dict[int, float], fdr: float) -> list:
    """Keep, best first, each slice whose leaves outside the better kept slices still carry a
    significant part of the anomaly: the pursuit's score-test gain of a common factor on those
    leaves (under the fit without the slice), in the direction of the slice's change, scaled by its
    depth's null spread (`null_scale`), is about chi-square(1); the k-th kept slice needs its p-value
    ``p <= k·fdr/M`` with M the slices of the lattice — the Benjamini–Hochberg (1995) step over
    every slice the search looked at, the ones it did not select counting as not significant — and
    every slice after the best one needs the gain to pay its price in the pursuit (its depth's
    Bonferroni/MDL penalty), now in units of the data's own null spread.

    A slice selected only for the part of it that overlaps a better one (an interaction of that
    cause, e.g. its big baskets hit harder) describes nothing of its own and goes (greedy
    explanation, as in HotSpot's and Squeeze's set cover and Adtributor's explanatory power); so
    does a deep slice whose deviation is no larger than deep slices of ordinary leaves show here."""
    selected = tuple(s for s, _ in ranked)
    n_tests = sum(lattice.count_at_depth.values())
    out: list = []
    taken = np.zeros(lattice.n_leaves, dtype=bool)
    for s, _ in ranked:
        members = lattice.members(s)
        rest = members[~taken[members]]
        if len(rest) == 0:
            continue
        without = pursuit.fit(tuple(t for t in selected if t != s))
        gain, sign = _remaining_evidence(pursuit, without, rest, scale[int(lattice.depth_of[s[0]])])
        mu, _ = pursuit.leaf_state(without, members)
        same_way = sign == np.sign(float(np.sum(pursuit.model.y[members] - mu)))
        pays = not out or gain > pursuit.penalty(s)  # the best one paid it in the pursuit's exact fit
        significant = chi2.sf(gain, 1) <= (len(out) + 1) * fdr / n_tests and pays
        if same_way and significant:
            out.append(s)
            taken[members] = True
    return out


def _coarsen(kept: list, lattice: Lattice, pursuit: Pursuit, scale: dict[int, float], fdr: float) -> list:
    """Replace kept slices of one cuboid that differ in one dimension only (siblings under a parent)
    by that parent when the evidence does not separate them: the fit with the parent instead is not
    significantly worse (likelihood ratio, scaled by the parent depth's null spread, chi-square
    with one degree of freedom less than the siblings, level ``fdr``). One coarser slice is then the
    succinct answer (HotSpot's and Squeeze's preference for the coarser explanation, iDice's merging
    of effective combinations); kept slices inside the parent go with them."""
    changed = True
    while changed:
        changed = False
        fit = pursuit.fit(tuple(kept))
        families: dict[tuple, list] = {}
        for s in kept:
            fs = lattice.filters(s)
            for dim in fs if len(fs) >= 2 else ():
                families.setdefault((s[0], dim, tuple((k, v) for k, v in fs.items() if k != dim)), []).append(s)
        for (_, _, parent_filters), siblings in families.items():
            parent = lattice.find(dict(parent_filters)) if len(siblings) >= 2 else None
            if parent is None:
                continue
            merged = tuple(t for t in kept if t not in siblings and not lattice.nested(parent, t)) + (parent,)
            lr = max(pursuit.fit(merged).objective - fit.objective, 0.0)
            if chi2.sf(lr / scale[int(lattice.depth_of[parent[0]])], len(siblings) - 1) > fdr:
                kept, changed = list(merged), True
                break
    return kept


def _search(lattice: Lattice, model, cfg: LocalizeConfig):
    """Run the pursuit; when the found slices cover much of the data, re-estimate the null noise
    once from the leaves they leave out (a large anomaly inflates the first, all-leaf estimate)
    and search again from the found slices. One re-estimate: a second one, from the leaves left
    out by slices found under the first, only removes more of the ordinary spread of the data
    from the null, and the extra slices it then admits are what `_significant` has to discard.

    The search after the re-estimate adds slices and drops, generalizes or merges them, but does not
    split a found slice into descendants: the re-estimated null describes the leaves *outside* the
    found slices, and a cause's own leaves spread more than ordinary ones (the per-leaf spread of an
    anomaly), so judged against that null a cause falls apart into deep slices of its own noise.
    Whether a found slice is really several causes was decided by the first search, under the
    all-leaf null."""
    selection: tuple = ()
    blocks: dict = {}  # fitted blocks, reused by the next search when they do not depend on the null
    for attempt in range(_SEARCHES):
        pursuit = Pursuit(
            lattice,
            model,
            penalty=cfg.penalty,
            penalty_offset=cfg.penalty_offset,
            max_slices=cfg.max_slices,
            screen=cfg.screen,
            dispersion_prior=cfg.dispersion_prior,
            blocks=None if model.factors_use_null else blocks,
        )
        fit = pursuit.run(selection, split=attempt == 0)
        if fit.selected == selection or attempt == _SEARCHES - 1:
            break
        selection = fit.selected
        outside = np.ones(lattice.n_leaves, dtype=bool)
        outside[fit.arrays()[0]] = False
        if outside.sum() < 20:
            break
        before = (model.a, model.s0)
        model.fit_null(np.flatnonzero(outside))
        if np.allclose((model.a, model.s0), before, rtol=0.02, atol=1e-12):
            break
    return fit, pursuit
