"""Outcome models for counterfactuals: fit per-record metric inputs on drivers, with bootstrap replicates.

A metric is sum(X) / sum(Y) over records. `OutcomeEnsemble.fit` learns E[X | drivers] (and E[Y | drivers]
when Y is not constant) for every base metric from a sample of records pulled from DuckDB; drivers are
the workspace features, the low-cardinality dimensions, hour of day, weekday (calendar day for the
GLM, below) and in-scope flags (plus treatment flags for change events that carry no feature). A counterfactual changes drivers in
an evaluation frame and compares mean predictions; composites follow from their components.

Two strategies share one small interface — `prepare(X, y)` once, `fit(weights)` per replicate,
`transform(X)` once per frame, `predict(fit, T)`:

- ``lightgbm`` (default): gradient-boosted trees, binary log-loss for 0/1 targets, L2 otherwise;
  flexible (interactions, thresholds) and fast with a prebuilt binned `lgb.Dataset` whose weights are
  swapped per bootstrap replicate.
- ``glm``: a logistic (0/1 targets) or Gaussian GLM fitted by ridge-stabilised IRLS on one-hot
  categoricals and numeric drivers with their squares; fast and stable on small samples. It also gets
  calendar-day fixed effects: being additive, they absorb market-wide daily shocks but cannot mimic a
  "scope after the change" interaction, so the driver's effect stays identified (the two-way
  fixed-effects design). Trees would carve that interaction out of day × scope splits, so LightGBM
  gets hour of day and weekday only.

Uncertainty: the nonparametric bootstrap (Efron & Tibshirani 1993, *An Introduction to the Bootstrap*,
ch. 6): B replicates refit every model on multinomial resampling weights of the training rows, the
same draw for every target so replicates are joint across metrics. We report the *standard* bootstrap
interval θ̂ ± t·se_B (E&T §13.2; Student's t on B − 1 degrees of freedom because se_B is estimated):
B = 20–50 replicates estimate a standard error well (E&T §6.4: the coefficient of variation of se_B
is about 1/√(2B), 16 % at B = 20), whereas percentile intervals need B ≥ 1000. Resampling orders
treats them as independent given the drivers; shocks shared within an hour that the drivers do not
capture make the interval optimistic.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import t as student_t
from threadpoolctl import ThreadpoolController, threadpool_limits

from data.parallel import cores, parallel
from detection.types import Interval
from metrics.definitions import NULL_LABEL

MAX_DIMENSION_LEVELS = 50
_controller: list[ThreadpoolController] = []


def one_thread():
    """A context in which BLAS and OpenMP run one thread, for predictions (models exist, so their libraries
    are loaded). The controller (a scan of every loaded library, some 30 ms) is made once and reused, as
    `threadpoolctl` recommends; fitting, which may load a library first, uses `threadpool_limits`."""
    if not _controller:
        _controller.append(ThreadpoolController())
    return _controller[0].limit(limits=1)


@dataclass(frozen=True)
class Target:
    """One column the ensemble learns: a metric's X or Y."""

    metric: str
    part: str  # "x" | "y"
    column: str
    binary: bool


@dataclass(frozen=True)
class Design:
    """The drivers an outcome model sees and how they are encoded."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    levels: dict  # categorical column -> tuple of known levels (codes are positions)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.numeric + self.categorical

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, numeric: list[str], categorical: list[str]) -> "Design":
        levels = {c: tuple(sorted(set(_labels(frame[c])))) for c in categorical}
        return cls(tuple(numeric), tuple(categorical), levels)

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """Numeric drivers as floats; categoricals as level codes (unknown levels: NaN)."""
        out = np.empty((len(frame), len(self.columns)), dtype=np.float64)
        for j, c in enumerate(self.columns):
            out[:, j] = self._column(frame, c)
        return out

    def reencode(self, X: np.ndarray, frame: pd.DataFrame, columns: Iterable[str]) -> np.ndarray:
        """``X`` (the encoding of a frame) with ``columns`` encoded again from ``frame``: the design matrix
        of a copy of the frame in which only those columns changed, without encoding the others again."""
        out = X.copy()
        for c in dict.fromkeys(columns):
            if c in self.columns:
                out[:, self.columns.index(c)] = self._column(frame, c)
        return out

    def _column(self, frame: pd.DataFrame, c: str) -> np.ndarray:
        if c in self.levels:
            codes = pd.Index(self.levels[c]).get_indexer(_labels(frame[c])).astype(np.float64)
            codes[codes < 0] = np.nan
            return codes
        return pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _labels(column: pd.Series) -> np.ndarray:
    """A categorical column as an object array of strings, nulls as `NULL_LABEL`."""
    values = column.to_numpy(dtype=object, na_value=None)
    return np.array([NULL_LABEL if v is None else str(v) for v in values], dtype=object)


class LightGBMOutcome:
    """Gradient-boosted trees on a prebuilt binned dataset; replicates only swap the weights."""

    def __init__(self, rounds: int = 50, learning_rate: float = 0.15, num_leaves: int = 15,
                 min_data_in_leaf: int = 40, threads: int = 1, seed: int = 0):
        self.rounds = rounds
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_data_in_leaf = min_data_in_leaf
        self.threads = threads
        self.seed = seed

    def prepare(self, X: np.ndarray, y: np.ndarray, binary: bool, n_categorical: int) -> None:
        import lightgbm as lgb

        self.binary_ = binary
        cat = list(range(X.shape[1] - n_categorical, X.shape[1]))
        # Exclusive feature bundling is off: it can merge a policy driver that only moves inside the scope
        # with the in-scope flag, after which no tree splits on the driver and its counterfactual is 0.
        self.dataset_ = lgb.Dataset(X, y, categorical_feature=cat or "auto", free_raw_data=False,
                                    params={"max_bin": 63, "verbose": -1, "min_data_in_bin": 5,
                                            "enable_bundle": False}).construct()
        self.params_ = {
            "objective": "binary" if binary else "regression", "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves, "min_data_in_leaf": self.min_data_in_leaf, "num_threads": self.threads,
            "verbose": -1, "seed": self.seed, "deterministic": True, "force_row_wise": True,
            "cat_smooth": 10, "min_data_per_group": 50, "enable_bundle": False,
        }

    def fit(self, weight: np.ndarray):
        import lightgbm as lgb

        self.dataset_.set_weight(weight)
        return lgb.train(self.params_, self.dataset_, num_boost_round=self.rounds)

    @staticmethod
    def transform(X: np.ndarray) -> np.ndarray:
        return X

    def predict(self, booster, T: np.ndarray) -> np.ndarray:
        return booster.predict(T, num_threads=self.threads)

    def state(self, fits: list) -> dict:
        """What prediction needs, as JSON: each booster in LightGBM's own text format (exact: it writes
        thresholds and leaf values with round-trip precision)."""
        return {"threads": self.threads, "fits": [b.model_to_string() for b in fits]}

    @classmethod
    def from_state(cls, state: dict) -> tuple["LightGBMOutcome", list]:
        import lightgbm as lgb

        return cls(threads=int(state["threads"])), parallel(lambda m: lgb.Booster(model_str=m), state["fits"])


class GLMOutcome:
    """Logistic (0/1 targets) or Gaussian GLM by IRLS with a small ridge penalty.

    Categoricals are one-hot (first level dropped); numeric drivers are standardised and, when they
    take more than 10 values, enter with their square too. Bootstrap replicates take
    ``replicate_steps`` Newton steps from the full-sample estimate (a Gaussian GLM is exact in one;
    for the logistic the second step leaves an error of second order in the resampling perturbation,
    far below the bootstrap's own Monte Carlo error).
    """

    def __init__(self, ridge: float = 1e-3, iterations: int = 25, replicate_steps: int = 2):
        self.ridge = ridge
        self.iterations = iterations
        self.replicate_steps = replicate_steps

    def _basis(self, X: np.ndarray) -> np.ndarray:
        cols = [np.ones(len(X))]
        for j in range(self.n_numeric_):
            z = (np.nan_to_num(X[:, j], nan=self.mean_[j]) - self.mean_[j]) / self.scale_[j]
            cols.append(z)
            if self.curved_[j]:
                cols.append(z * z)
        for k, n_levels in enumerate(self.n_levels_):
            codes = X[:, self.n_numeric_ + k]
            for level in range(1, n_levels):
                cols.append((codes == level).astype(np.float64))
        return np.column_stack(cols)

    def prepare(self, X: np.ndarray, y: np.ndarray, binary: bool, n_categorical: int) -> None:
        self.binary_ = binary
        self.n_numeric_ = X.shape[1] - n_categorical
        num = X[:, : self.n_numeric_]
        self.mean_ = np.nanmean(num, axis=0) if self.n_numeric_ else np.zeros(0)
        self.mean_ = np.nan_to_num(self.mean_)
        sd = np.nanstd(num, axis=0) if self.n_numeric_ else np.zeros(0)
        self.scale_ = np.where(np.nan_to_num(sd) > 0, sd, 1.0)
        self.curved_ = [len(np.unique(num[~np.isnan(num[:, j]), j])) > 10 for j in range(self.n_numeric_)]
        cats = X[:, self.n_numeric_:]
        self.n_levels_ = [int(np.nanmax(cats[:, k])) + 1 if np.isfinite(cats[:, k]).any() else 1
                          for k in range(n_categorical)]
        self.B_ = self._basis(X)
        self.y_ = y.astype(np.float64)

    def fit(self, weight: np.ndarray) -> np.ndarray:
        B, y = self.B_, self.y_
        penalty = self.ridge * weight.sum() * np.eye(B.shape[1])
        penalty[0, 0] = 0.0
        if not self.binary_:
            BW = B * weight[:, None]
            return np.linalg.solve(B.T @ BW + penalty, BW.T @ y)
        start = getattr(self, "start_", None)
        if start is None:
            p0 = np.clip(np.average(y, weights=weight), 1e-4, 1 - 1e-4)
            beta = np.zeros(B.shape[1])
            beta[0] = np.log(p0 / (1 - p0))
        else:  # bootstrap replicates: Newton steps from the full-sample fit (see the class docstring)
            beta = start.copy()
        for _ in range(self.iterations if start is None else self.replicate_steps):
            eta = np.clip(B @ beta, -30, 30)
            p = 1 / (1 + np.exp(-eta))
            w = weight * np.maximum(p * (1 - p), 1e-9)
            grad = B.T @ (weight * (y - p)) - penalty @ beta
            hess = B.T @ (B * w[:, None]) + penalty
            step = np.linalg.solve(hess, grad)
            beta = beta + step
            if np.max(np.abs(step)) < 1e-7:
                break
        if start is None:
            self.start_ = beta
        return beta

    def transform(self, X: np.ndarray) -> np.ndarray:
        return self._basis(X)

    def predict(self, beta: np.ndarray, T: np.ndarray) -> np.ndarray:
        eta = T @ beta
        return 1 / (1 + np.exp(-np.clip(eta, -30, 30))) if self.binary_ else eta

    def state(self, fits: list) -> dict:
        """What prediction needs, as JSON (floats written by ``repr``: exact)."""
        return {"binary": self.binary_, "n_numeric": self.n_numeric_, "mean": self.mean_.tolist(),
                "scale": self.scale_.tolist(), "curved": [bool(c) for c in self.curved_],
                "n_levels": list(self.n_levels_), "fits": [beta.tolist() for beta in fits]}

    @classmethod
    def from_state(cls, state: dict) -> tuple["GLMOutcome", list]:
        out = cls()
        out.binary_ = bool(state["binary"])
        out.n_numeric_ = int(state["n_numeric"])
        out.mean_ = np.array(state["mean"], dtype=np.float64)
        out.scale_ = np.array(state["scale"], dtype=np.float64)
        out.curved_ = [bool(c) for c in state["curved"]]
        out.n_levels_ = [int(n) for n in state["n_levels"]]
        return out, [np.array(beta, dtype=np.float64) for beta in state["fits"]]


STRATEGIES: dict[str, type[LightGBMOutcome] | type[GLMOutcome]] = {"lightgbm": LightGBMOutcome, "glm": GLMOutcome}


def make_strategy(kind: str, rounds: int = 50, seed: int = 0) -> LightGBMOutcome | GLMOutcome:
    if kind == "lightgbm":
        return LightGBMOutcome(rounds=rounds, seed=seed)
    if kind == "glm":
        return GLMOutcome()
    raise ValueError(f"unknown outcome model {kind!r} (lightgbm, glm)")


class OutcomeEnsemble:
    """One fitted model per target plus ``bootstrap`` joint replicates.

    ``fit`` stores parameters and fits; learned state ends in ``_``.
    """

    def __init__(self, kind: str = "lightgbm", bootstrap: int = 20, rounds: int = 50, seed: int = 0):
        self.kind = kind
        self.bootstrap = bootstrap
        self.rounds = rounds
        self.seed = seed

    def fit(self, frame: pd.DataFrame, design: Design, targets: list[Target],
            progress: Callable[[float], None] | None = None) -> "OutcomeEnsemble":
        """Fit every target and its replicates; ``progress`` hears the fraction done after each target."""
        rng = np.random.default_rng(self.seed)
        self.design_ = design
        self.targets_ = targets
        X = design.encode(frame)
        n = len(frame)
        # one multinomial resampling of the training rows per replicate, shared by all targets
        weights = [np.ones(n)] + [rng.multinomial(n, np.full(n, 1.0 / n)).astype(np.float64)
                                  for _ in range(self.bootstrap)]
        self.models_: dict[str, tuple[LightGBMOutcome | GLMOutcome, list]] = {}

        def fit_target(t: Target) -> tuple[LightGBMOutcome | GLMOutcome, list] | None:
            y = frame[t.column].to_numpy(dtype=np.float64, na_value=np.nan)
            keep = ~np.isnan(y)
            if keep.sum() < 20:
                return None
            strategy = make_strategy(self.kind, self.rounds, self.seed)
            strategy.prepare(X[keep], y[keep], t.binary, len(design.categorical))
            return strategy, [strategy.fit(w[keep]) for w in weights]

        # targets side by side (each its own dataset and seeded fits: the same models as one after another)
        done = 0
        with warnings.catch_warnings(), threadpool_limits(1):  # small dense algebra: threads only contend
            warnings.simplefilter("ignore")
            for start in range(0, len(targets), cores()):
                batch = targets[start: start + cores()]
                for t, fitted in zip(batch, parallel(fit_target, batch), strict=True):
                    if fitted is not None:
                        self.models_[t.column] = fitted
                done += len(batch)
                if progress is not None:
                    progress(done / len(targets))
        return self

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """The frame's design matrix (`Design.encode`), to predict every target on."""
        return self.design_.encode(frame)

    def mean_predictions(self, X: np.ndarray, target: Target, mask: np.ndarray | None = None) -> np.ndarray:
        """Mean prediction of ``target`` over the (masked) rows of the design matrix ``X``: the fit first,
        then every replicate."""
        strategy, fits = self.models_[target.column]
        if mask is not None:
            X = X[mask]
        if len(X) == 0:
            return np.full(len(fits), np.nan)
        with one_thread():
            T = strategy.transform(X)
            return np.array(parallel(lambda f: strategy.predict(f, T).mean(), fits))

    def has(self, target: Target) -> bool:
        return target.column in self.models_

    def state(self) -> dict:
        """The fitted ensemble as JSON (`from_state` gives back one that predicts exactly the same);
        no pickle, so a stored model is data, not code."""
        d = self.design_
        return {"kind": self.kind, "bootstrap": self.bootstrap, "rounds": self.rounds, "seed": self.seed,
                "design": {"numeric": list(d.numeric), "categorical": list(d.categorical),
                           "levels": {c: list(v) for c, v in d.levels.items()}},
                "targets": [[t.metric, t.part, t.column, t.binary] for t in self.targets_],
                "models": {column: strategy.state(fits) for column, (strategy, fits) in self.models_.items()}}

    @classmethod
    def from_state(cls, state: dict) -> "OutcomeEnsemble":
        out = cls(state["kind"], int(state["bootstrap"]), int(state["rounds"]), int(state["seed"]))
        d = state["design"]
        out.design_ = Design(tuple(d["numeric"]), tuple(d["categorical"]),
                             {c: tuple(v) for c, v in d["levels"].items()})
        out.targets_ = [Target(m, p, c, bool(b)) for m, p, c, b in state["targets"]]
        strategy = STRATEGIES[out.kind]
        out.models_ = {column: strategy.from_state(s) for column, s in state["models"].items()}
        return out


def standard_interval(estimate: float, replicates: np.ndarray, level: float = 0.95) -> Interval:
    """θ̂ ± t·se_B, se_B the SD of the B bootstrap replicates (E&T 1993 §13.2).

    The quantile is Student's t with B − 1 degrees of freedom rather than z: se_B is itself estimated
    from B draws, and with B = 20–40 that adds about 3–5 % to the width the normal quantile would give.
    """
    reps = replicates[np.isfinite(replicates)]
    if len(reps) < 2 or not np.isfinite(estimate):
        return Interval(float("nan"), float("nan"), level)
    se = float(np.std(reps, ddof=1))
    q = float(student_t.ppf(0.5 + level / 2, len(reps) - 1))
    return Interval(estimate - q * se, estimate + q * se, level)
