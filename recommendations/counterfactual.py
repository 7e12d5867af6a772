"""Counterfactuals on a fitted outcome model: change drivers in a scope, predict, compare.

`fit_scene` pulls a training sample from DuckDB and fits an `OutcomeEnsemble`; `evaluation` pulls the
scope's records in a window; `scene_estimates` applies `DriverChange`s to them and returns, for every
metric, the predicted change with its bootstrap interval.

A driver change is ``set`` (a value, numeric or a category), ``scale`` (×), ``shift`` (+) or
``restore`` (back to its baseline-window level in the scope). ``restore`` resolves to a concrete
change from the data: a feature with few values (or a category) is set to its baseline mode; a
continuous positive feature is scaled by baseline mean / current mean (keeps its daily shape, fits
multiplicative shocks such as a supply drop); any other continuous feature is shifted by the
difference of means.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from datetime import datetime
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from data.errors import UserError
from data.slices import Slice, scope_text
from data.sources import OpenWorkspace, quote
from data.workspace import MetricSpec, Workspace
from detection.types import Interval
from metrics.definitions import base_metrics, change_weights, record_sql, scope_predicate
from recommendations.model import MAX_DIMENSION_LEVELS, Design, OutcomeEnsemble, Target, standard_interval
from recommendations.records import distinct_count, feature_kinds, sample_records, ts_col, ts_literal, window_where
from recommendations.settings import ModelSettings
from recommendations.types import DriverChange, Estimate, fmt_value

TREATED = "_treated_"
ENCODED = "_encoded_"  # a memo's key for the design matrix of its frame (target columns are x__/y__ names)
IN_SCOPE = "_in_scope_"
FEW_VALUES = 12


def parse_change(text: str, op: Literal["set", "scale", "shift"]) -> DriverChange:
    """``feature=value`` from the command line (``--set``, ``--scale``, ``--shift``)."""
    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name or not value:
        raise UserError(f"--{op} {text!r}: expected FEATURE=VALUE")
    if op in ("scale", "shift"):
        try:
            number = float(value.rstrip("%")) / 100 + (1 if op == "scale" else 0) if value.endswith("%") \
                else float(value)
        except ValueError:
            raise UserError(f"--{op} {name}: {value!r} is not a number") from None
        return DriverChange(name, op, number)
    try:
        return DriverChange(name, "set", float(value))
    except ValueError:
        return DriverChange(name, "set", value)


def check_changes(ow: OpenWorkspace, changes: list[DriverChange]) -> None:
    """Every change names a workspace feature and fits its type; UserError naming the bad one."""
    features = ow.workspace.records.features
    kinds = feature_kinds(ow)
    seen = set()
    for c in changes:
        if c.feature not in features:
            raise UserError(f"{c.feature!r} is not a feature of {ow.workspace.name} "
                            f"(features: {', '.join(features) or 'none'})")
        if c.feature in seen:
            raise UserError(f"{c.feature!r} is changed twice; give one change per feature")
        seen.add(c.feature)
        if kinds[c.feature] == "categorical":
            if c.op in ("scale", "shift"):
                raise UserError(f"{c.feature!r} is categorical; it can only be set (--set {c.feature}=VALUE)")
            if c.op == "set":
                value = str(c.value) if not isinstance(c.value, float) else fmt_value(c.value)
                if not ow.engine.row(f"SELECT 1 FROM records WHERE CAST({quote(c.feature)} AS VARCHAR) = ? LIMIT 1",
                                     [value]):
                    known = ow.engine.frame(f"SELECT DISTINCT CAST({quote(c.feature)} AS VARCHAR) FROM records "
                                            "ORDER BY 1 LIMIT 20").iloc[:, 0].tolist()
                    raise UserError(f"{c.feature}={value}: not a value of {c.feature!r} "
                                    f"(values: {', '.join(map(str, known))})")
        elif c.op == "set" and isinstance(c.value, str):
            raise UserError(f"{c.feature}={c.value}: {c.feature!r} is numeric; give a number")
        if c.op == "scale" and isinstance(c.value, (int, float)) and c.value < 0:
            raise UserError(f"--scale {c.feature}: factor must be positive, got {c.value}")


@dataclass(frozen=True)
class Level:
    """A feature's level in a scope and window: mode and distinct count for few-valued features, mean else."""

    feature: str
    kind: str  # "few" | "continuous"
    mode: float | str | None
    mean: float | None
    minimum: float | None

    def text(self) -> str:
        if self.kind == "few":
            return fmt_value(self.mode)
        return f"{self.mean:.3g}" if self.mean is not None and math.isfinite(self.mean) else "n/a"


def feature_level(ow: OpenWorkspace, feature: str, scope: tuple[Slice, ...], start: datetime | None,
                  end: datetime | None) -> Level:
    ws = ow.workspace
    where = f"{scope_predicate(scope)} AND {window_where(ws, start, end)} AND {quote(feature)} IS NOT NULL"
    kind = feature_kinds(ow)[feature]
    col = quote(feature)
    distinct = ow.engine.row(f"SELECT count(*) FROM (SELECT DISTINCT {col} FROM records WHERE {where} "
                             f"LIMIT {FEW_VALUES + 1})")[0]
    found = ow.engine.row(f"SELECT {col} FROM records WHERE {where} GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    mode = found[0] if found else None
    if kind == "categorical":
        return Level(feature, "few", None if mode is None else str(mode), None, None)
    mean, lo = ow.engine.row(f"SELECT avg(CAST({col} AS DOUBLE)), min(CAST({col} AS DOUBLE)) FROM records "
                             f"WHERE {where}")
    few = distinct <= FEW_VALUES and distinct_count(ow, feature, FEW_VALUES * 4) <= FEW_VALUES
    return Level(feature, "few" if few else "continuous", None if mode is None else float(mode), mean, lo)


def resolve_restore(feature: str, baseline: Level, current: Level) -> DriverChange:
    """The concrete change that brings ``current`` back to ``baseline`` (see the module docstring)."""
    if baseline.kind == "few" or current.kind == "few":
        return DriverChange(feature, "set", baseline.mode)
    if baseline.mean is None or current.mean is None:
        return DriverChange(feature, "shift", 0.0)
    if (current.minimum or 0) > 0 and (baseline.minimum or 0) > 0 and current.mean > 0:
        return DriverChange(feature, "scale", baseline.mean / current.mean)
    return DriverChange(feature, "shift", baseline.mean - current.mean)


# ---------------------------------------------------------------------------------------------------
# the scene: a fitted ensemble and the evaluation records
# ---------------------------------------------------------------------------------------------------


@dataclass
class Scene:
    """An outcome model fitted once for a set of scopes (``fit_scene``).

    ``scope_flags`` maps each scope to its in-scope flag column; ``treatment_flags`` maps the waves
    ((scope, start), ...) of a change event that no feature records to its treatment flag column.
    """

    ensemble: OutcomeEnsemble
    targets: list[Target]
    select: list[str]
    scope_flags: dict
    treatment_flags: dict
    sample: int
    kind: str
    bootstrap: int
    seed: int
    hidden: tuple[str, ...] = ()  # features left out because they duplicate a treatment flag
    scopes: tuple[tuple[Slice, ...], ...] = ()  # the scopes it was fitted for, each once
    settings: ModelSettings | None = None  # the settings it was fitted with

    def fitted_as(self, scope: tuple[Slice, ...], settings: ModelSettings) -> bool:
        """Whether this scene is the model ``fit_scene(ow, [scope], settings)`` fits on the same records:
        fitted for that one scope, with no treatment flag, the same settings and seed (the same training
        sample, drivers and replicates, hence the same model)."""
        return (set(self.scopes) == {scope} and not self.treatment_flags and not self.hidden
                and self.settings == settings and self.seed == settings.seed)


def _digest(value) -> str:
    """A short name for a scope (or scope and time) that is the same in every scene: frames pulled for
    one scene can then serve another."""
    return hashlib.sha1(repr(value).encode()).hexdigest()[:10]


Treatment = tuple[tuple[tuple[Slice, ...], datetime], ...]  # a change's waves: (scope, start) each


def _select(ow: OpenWorkspace, scopes: list[tuple[Slice, ...]], treatments: list[Treatment],
            kind: str) -> tuple[list[str], list, list, dict, dict]:
    ws = ow.workspace
    kinds = feature_kinds(ow)
    select, numeric, categorical = [], [], []
    for f in ws.records.features:
        if kinds[f] == "numeric":
            select.append(f"CAST({quote(f)} AS DOUBLE) AS {quote(f)}")
            numeric.append(f)
        else:
            select.append(f"CAST({quote(f)} AS VARCHAR) AS {quote(f)}")
            categorical.append(f)
    for d in ws.records.dimensions:
        if distinct_count(ow, d, MAX_DIMENSION_LEVELS + 1) <= MAX_DIMENSION_LEVELS:
            alias = quote("_dim_" + d)
            select.append(f"CAST({quote(d)} AS VARCHAR) AS {alias}")
            categorical.append("_dim_" + d)
    ts = ts_col(ws)
    select.append(f"CAST(hour({ts}) AS VARCHAR) AS _hour")
    categorical.append("_hour")
    if kind == "glm":  # additive day fixed effects (see recommendations.model); they subsume the weekday
        select.append(f"CAST(CAST({ts} AS DATE) AS VARCHAR) AS _day")
        categorical.append("_day")
    else:
        select.append(f"CAST(dayofweek({ts}) AS VARCHAR) AS _dow")
        categorical.append("_dow")
    scope_flags, treatment_flags = {}, {}
    for scope in dict.fromkeys(s for s in scopes if s):
        col = f"{IN_SCOPE}{_digest(scope_text(scope))}"
        scope_flags[scope] = col
        select.append(f"CAST({scope_predicate(scope)} AS DOUBLE) AS {col}")
        numeric.append(col)
    for waves in dict.fromkeys(treatments):
        col = f"{TREATED}{_digest(tuple((scope_text(scope), since.isoformat()) for scope, since in waves))}"
        treatment_flags[waves] = col
        treated = " OR ".join(f"({scope_predicate(scope)} AND {ts} >= {ts_literal(since)})" for scope, since in waves)
        select.append(f"CAST({treated} AS DOUBLE) AS {col}")
        numeric.append(col)
    for m in base_metrics(ws):
        s = record_sql(m)
        select += [f"{s.x} AS {quote('x__' + m.name)}", f"{s.y} AS {quote('y__' + m.name)}"]
    return select, numeric, categorical, scope_flags, treatment_flags


def fit_scene(ow: OpenWorkspace, scopes: list[tuple[Slice, ...]], settings: ModelSettings,
              treatments: Sequence[Treatment] = (), seed: int | None = None,
              progress: Callable[[float], None] | None = None) -> Scene:
    """Fit the outcome ensemble once for every scope an incident's actions touch.

    The training sample is half records inside the scopes, half outside (when the scopes are not
    everything) so the model sees the scopes' own conditions as well as the variation elsewhere. Each
    scope gets an in-scope flag; each change event that no feature records gets a treatment flag (its
    scope from its time on; each wave's scope from the wave's time for a change rolled out in waves). No calendar time enters the tree model: a policy that starts at t0 in the
    scope would otherwise be explained by "scope after t0" instead of by the driver it changed.
    ``progress`` hears the fraction of the fit done after each target.
    """
    ws = ow.workspace
    seed = settings.seed if seed is None else seed
    select, numeric, categorical, scope_flags, treatment_flags = _select(ow, list(scopes), list(treatments),
                                                                         settings.kind)
    if any(not s for s in scopes) or not scope_flags:
        train = sample_records(ow, select, "TRUE", settings.sample, seed)
    else:
        inside = "(" + " OR ".join(scope_predicate(s) for s in scope_flags) + ")"
        half = settings.sample // 2
        train = pd.concat([sample_records(ow, select, inside, half, seed),
                           sample_records(ow, select, f"NOT {inside}", settings.sample - half, seed)],
                          ignore_index=True)
    if len(train) == 0:
        raise UserError(f"{ws.name}: no records to fit an outcome model on")
    hidden = _treatment_in_disguise(train, numeric, list(treatment_flags.values()))
    numeric = [c for c in numeric if c not in hidden]
    design = Design.from_frame(train, numeric, categorical)
    targets = []
    for m in base_metrics(ws):
        s = record_sql(m)
        x = train["x__" + m.name].dropna()
        binary = bool(len(x)) and bool(np.isin(x.unique(), (0.0, 1.0)).all())
        targets.append(Target(m.name, "x", "x__" + m.name, binary))
        if not s.constant_y:
            targets.append(Target(m.name, "y", "y__" + m.name, False))
    ensemble = OutcomeEnsemble(settings.kind, settings.bootstrap, settings.rounds, seed).fit(train, design, targets,
                                                                                             progress)
    return Scene(ensemble, targets, select, scope_flags, treatment_flags, len(train), settings.kind,
                 settings.bootstrap, seed, tuple(hidden), tuple(dict.fromkeys(scopes)), settings)


def _treatment_in_disguise(train: pd.DataFrame, numeric: list[str], flags: list[str]) -> list[str]:
    """Numeric features that move one-for-one with a treatment flag (|correlation| > 0.98).

    Such a feature records the event under another name; left in, the model would split the event's
    effect between it and the flag, and switching the flag off would undo only part of it.
    """
    hidden = []
    for f in numeric:
        if f in flags or f.startswith(IN_SCOPE):
            continue
        x = train[f].to_numpy(dtype=float, na_value=np.nan)
        for flag in flags:
            t = train[flag].to_numpy(dtype=float)
            ok = ~np.isnan(x)
            if ok.sum() > 2 and np.std(x[ok]) > 0 and np.std(t[ok]) > 0 and \
                    abs(np.corrcoef(x[ok], t[ok])[0, 1]) > 0.98:
                hidden.append(f)
                break
    return hidden


def evaluation(ow: OpenWorkspace, scene: Scene, scope: tuple[Slice, ...], start: datetime, end: datetime,
               n: int, select: list[str] | None = None) -> pd.DataFrame:
    """Up to ``n`` of the scope's records in [start, end), with the scene's columns (or ``select``, a
    superset of them shared by several scenes of the same seed)."""
    where = f"{scope_predicate(scope)} AND {window_where(ow.workspace, start, end)}"
    frame = sample_records(ow, select or scene.select, where, n, scene.seed + 1)
    if len(frame) == 0:
        raise UserError(f"no records in scope {';'.join(s.key for s in scope) or '*'} between "
                        f"{start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M}")
    return frame


def _encoded(scene: Scene, now: pd.DataFrame, memo: dict) -> np.ndarray:
    """``now``'s design matrix, encoded once per memo."""
    if ENCODED not in memo:
        memo[ENCODED] = scene.ensemble.encode(now)
    return memo[ENCODED]


def _metric_targets(ws: Workspace, scene: Scene, now: pd.DataFrame) -> list[tuple[MetricSpec, Target, Target | None, np.ndarray]]:
    """For each base metric the ensemble models: its X target, its Y target (None: Y is constant or not
    modelled) and the records of ``now`` where it counts."""
    by_metric: dict[str, dict[str, Target]] = {}
    for t in scene.targets:
        by_metric.setdefault(t.metric, {})[t.part] = t
    out = []
    for m in base_metrics(ws):
        parts = by_metric.get(m.name, {})
        x_t, y_t = parts.get("x"), parts.get("y")
        if x_t is None or not scene.ensemble.has(x_t):
            continue
        counted = now["y__" + m.name].notna().to_numpy()
        if counted.sum() == 0:
            continue
        out.append((m, x_t, y_t if y_t is not None and scene.ensemble.has(y_t) else None, counted))
    return out


def predict_as_is(ow: OpenWorkspace, scene: Scene, now: pd.DataFrame, memo: dict) -> None:
    """Fill ``memo`` (see `scene_estimates`) with the mean predictions of ``now`` as it is, every target."""
    X_now = _encoded(scene, now, memo)
    for _, x_t, y_t, counted in _metric_targets(ow.workspace, scene, now):
        for t in (x_t, y_t):
            if t is not None and t.column not in memo:
                memo[t.column] = scene.ensemble.mean_predictions(X_now, t, counted)


def scene_estimates(ow: OpenWorkspace, scene: Scene, now: pd.DataFrame, changes: list[DriverChange],
                    level: float = 0.95, treatment_off: str | None = None,
                    memo: dict | None = None) -> dict[str, Estimate]:
    """Predicted change of every metric over the records ``now`` when ``changes`` apply (and/or the
    treatment flag column ``treatment_off`` is switched off): mean prediction after minus before,
    per bootstrap replicate. ``memo`` (one dict per ``now`` frame, owned by the caller) keeps the
    encoding and the predictions of ``now`` for the next counterfactual on the same records; the changed
    frame is encoded from ``now``'s encoding, only its changed columns again."""
    memo = {} if memo is None else memo
    ensemble = scene.ensemble
    predict_as_is(ow, scene, now, memo)
    X_now = memo[ENCODED]
    ws = ow.workspace
    then = now
    for c in changes:
        then = c.apply(then)
    if treatment_off is not None:
        then = then.copy()
        then[treatment_off] = 0.0
    changed = [c.feature for c in changes] + ([treatment_off] if treatment_off is not None else [])
    X_then = ensemble.design_.reencode(X_now, then, changed)
    replicate_changes: dict[str, np.ndarray] = {}
    estimates: dict[str, Estimate] = {}
    for m, x_t, y_t, counted in _metric_targets(ws, scene, now):
        x_now = memo[x_t.column]
        x_then = ensemble.mean_predictions(X_then, x_t, counted)
        if y_t is not None:
            y_now = memo[y_t.column]
            y_then = ensemble.mean_predictions(X_then, y_t, counted)
            diff = x_then / y_then - x_now / y_now
        else:
            diff = x_then - x_now
        replicate_changes[m.name] = diff
        estimates[m.name] = Estimate("model", float(diff[0]), standard_interval(float(diff[0]), diff[1:], level),
                                     int(counted.sum()))
    for m in ws.metrics:
        if m.type != "composite":
            continue
        weights = change_weights(m, ws.metrics)
        if not all(c in replicate_changes for c in weights):
            continue
        combined = np.sum([w * replicate_changes[c] for c, w in weights.items()], axis=0)
        estimates[m.name] = Estimate("model", float(combined[0]),
                                     standard_interval(float(combined[0]), combined[1:], level), len(now))
    return estimates


def negate(e: Estimate) -> Estimate:
    return replace(e, value=-e.value, interval=Interval(-e.interval.high, -e.interval.low, e.interval.level))
