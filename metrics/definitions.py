"""A metric's definition, written once: every stage that scans records or reads the cube imports it here.

- **Per-record SQL** (`record_sql`): every non-composite metric is a ratio of per-record sums ΣX / ΣY
  (`data.workspace.MetricSpec`); X and Y are SQL over one record, NULL where the record does not count.
  The expressions inside are the checked SQL of `data.expressions`, never the user's text.
- **Composite orientation** (`composite_parts`, `oriented`, `oriented_sql`, `composite_value`): a
  composite is the weighted mean of its components turned so that higher is better — a component whose
  ``good`` is ``down`` enters as ``1 - value`` (a rate) or ``-value`` (anything else).
- **Slice labels and predicates** (`label_sql`, `value_labels`, `slice_label`, `split_label`,
  `label_slice`; `dimension_in`, `slice_predicate`, `scope_predicate`, `scope_mask`): a slice is
  ``dim=value`` pairs joined by ``&``, dimensions sorted by name, ``*`` the total. A NULL dimension value
  is a slice of its own, labelled `NULL_LABEL`, and a predicate matches it with ``IS NULL``, so a record
  is in exactly the slices whose labels the cube gives it. A predicate is true or false, never NULL.
- **The cube's columns** (`CUBE_COLUMNS`, `CUBE_SCHEMA`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa

from data.errors import UserError
from data.slices import Slice
from data.sources import quote, sql_literal
from data.workspace import MetricSpec, Workspace

NULL_LABEL = "(null)"
TOTAL_LABEL = "*"
CUBE_COLUMNS = ("ts", "slice", "metric", "value", "numerator", "denominator", "n", "num_sq", "den_sq", "num_den")
CUBE_SCHEMA = pa.schema([("ts", pa.timestamp("us")), ("slice", pa.string()), ("metric", pa.string())]
                        + [(c, pa.int64() if c == "n" else pa.float64()) for c in CUBE_COLUMNS[3:]])


# ---------------------------------------------------------------------------------------------------
# per-record SQL
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordSQL:
    """Per-record X and Y of one non-composite metric, NULL where the record does not count for it."""

    name: str
    x: str
    y: str
    constant_y: bool  # Y is 1 wherever it counts (rates, means, ratios over "1")


def record_sql(m: MetricSpec) -> RecordSQL:
    """X and Y of ``m`` over one record: a rate or mean counts where ``expr`` is not NULL (Y = 1), a ratio
    where numerator and denominator both are."""
    if m.type in ("rate", "mean"):
        x = f"CAST(({m.expr}) AS DOUBLE)"
        return RecordSQL(m.name, x, f"CASE WHEN {x} IS NOT NULL THEN 1.0 END", True)
    if m.type == "ratio":
        assert m.numerator is not None and m.denominator is not None  # MetricSpec requires both for a ratio
        num, den = f"CAST(({m.numerator}) AS DOUBLE)", f"CAST(({m.denominator}) AS DOUBLE)"
        both = f"({num}) IS NOT NULL AND ({den}) IS NOT NULL"
        return RecordSQL(m.name, f"CASE WHEN {both} THEN {num} END", f"CASE WHEN {both} THEN {den} END",
                         m.denominator.strip() in ("1", "1.0"))
    raise ValueError(f"metric {m.name!r} is a composite: it has no per-record X and Y")


def base_metrics(metrics: Workspace | Iterable[MetricSpec], names: Iterable[str] | None = None) -> list[MetricSpec]:
    """The metrics with per-record SQL (not composites) of a workspace or a list of metrics, in order; with
    ``names``, only those the named metrics need (a composite needs its components), in first-use order."""
    metrics = metrics.metrics if isinstance(metrics, Workspace) else list(metrics)
    if names is None:
        return [m for m in metrics if m.type != "composite"]
    specs = {m.name: m for m in metrics}
    needed: list[str] = []
    for name in names:
        m = specs[name]
        for part in (_declared_weights(m) if m.type == "composite" else [name]):
            if part not in needed:
                needed.append(part)
    return [specs[n] for n in needed]


# ---------------------------------------------------------------------------------------------------
# composite orientation
# ---------------------------------------------------------------------------------------------------


def _declared_weights(m: MetricSpec) -> dict[str, float]:
    """A composite's declared weights (component name → positive weight)."""
    if m.type != "composite" or m.weights is None:
        raise ValueError(f"metric {m.name!r} is not a composite")
    return m.weights


@dataclass(frozen=True)
class Part:
    """One component as it enters a composite: ``weight × (offset + sign × value)``, weights summing to 1."""

    spec: MetricSpec
    weight: float
    sign: float  # -1.0 when the component's good is down
    offset: float  # 1.0 for a down rate (1 - value), else 0.0

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def signed_weight(self) -> float:
        """The composite's change per unit change of this component."""
        return self.weight * self.sign


def orientation(spec: MetricSpec) -> tuple[float, float]:
    """``(sign, offset)`` turning ``spec``'s value higher-is-better: ``offset + sign × value``."""
    if spec.good == "down":
        return -1.0, 1.0 if spec.type == "rate" else 0.0
    return 1.0, 0.0


def composite_parts(m: MetricSpec, metrics: Iterable[MetricSpec]) -> tuple[Part, ...]:
    """The oriented components of composite ``m`` (``metrics``: the workspace's, to look them up)."""
    weights = _declared_weights(m)
    specs = {s.name: s for s in metrics}
    total = sum(weights.values())
    return tuple(Part(specs[c], w / total, *orientation(specs[c])) for c, w in weights.items())


def change_weights(m: MetricSpec, metrics: Iterable[MetricSpec]) -> dict[str, float]:
    """Composite ``m``'s change per unit change of each component: its weight, negated where good is down."""
    return {p.name: p.signed_weight for p in composite_parts(m, metrics)}


V = TypeVar("V", float, np.ndarray)


def oriented(value: V, spec: MetricSpec) -> V:
    """A component's value (a number or an array) as it enters a composite: higher is better."""
    sign, offset = orientation(spec)
    if sign > 0:
        return value
    return offset - value if offset else -value


def oriented_sql(value: str, spec: MetricSpec) -> str:
    """`oriented` in SQL, over the SQL of a component's value."""
    sign, offset = orientation(spec)
    if sign > 0:
        return value
    return f"(1.0 - {value})" if offset else f"(-{value})"


def composite_value(m: MetricSpec, metrics: Iterable[MetricSpec], values: Callable[[str], V]) -> V:
    """Composite ``m`` from its components' values (``values(name)``: a number or an array)."""
    out: V | float = 0.0
    for part in composite_parts(m, metrics):
        out = out + part.weight * oriented(values(part.name), part.spec)
    return out  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------------
# slices: labels and predicates
# ---------------------------------------------------------------------------------------------------


def label_sql(column: str) -> str:
    """SQL for a dimension's label in a slice (``column`` is SQL: a quoted name or an alias): its value as
    text, `NULL_LABEL` for NULL. The cube's slice labels are built from it."""
    return f"coalesce(CAST({column} AS VARCHAR), {sql_literal(NULL_LABEL)})"


def value_labels(values: pd.Series) -> pd.Series:
    """`label_sql` over a column already in pandas: values as text (string dtype), NULL as `NULL_LABEL`."""
    return values.astype("string").fillna(NULL_LABEL)


def dimension_in(dim: str, values: Sequence[str], bind: Callable[[str], str] = sql_literal) -> str:
    """SQL true for the records whose ``dim`` reads one of ``values`` (labels: `NULL_LABEL` is NULL), false
    for every other record: never NULL, so ``NOT`` and ``FILTER`` read it as written.

    ``bind`` writes a value into the SQL: a quoted literal by default, or a placeholder that records
    the value as a bound parameter (called in the order the values appear in the text).
    """
    column = quote(dim)
    real = list(dict.fromkeys(v for v in values if v != NULL_LABEL))
    has_null = NULL_LABEL in values
    if not real:
        return f"({column} IS NULL)" if has_null else "FALSE"
    text = f"CAST({column} AS VARCHAR)"
    test = f"{text} = {bind(real[0])}" if len(real) == 1 else f"{text} IN ({', '.join(bind(v) for v in real)})"
    return f"({column} IS NULL OR {test})" if has_null else f"({column} IS NOT NULL AND {test})"


def slice_predicate(filters: Iterable[tuple[str, str]]) -> str:
    """SQL for one slice: a conjunction of ``dim=value`` (``TRUE`` for the total)."""
    parts = [dimension_in(dim, [value]) for dim, value in filters]
    return "(" + " AND ".join(parts) + ")" if parts else "TRUE"


def scope_predicate(scope: Iterable[Slice]) -> str:
    """SQL for a scope, the union of its slices (``TRUE`` for the empty scope, which is everything).

    Many single-dimension slices of one dimension become one IN list.
    """
    scope = tuple(scope)
    if not scope or any(not s.filters for s in scope):
        return "TRUE"
    singles: dict[str, list[str]] = {}
    parts = []
    for s in scope:
        if len(s.filters) == 1:
            singles.setdefault(s.filters[0][0], []).append(s.filters[0][1])
        else:
            parts.append(slice_predicate(s.filters))
    parts += [dimension_in(dim, values) for dim, values in singles.items()]
    return "(" + " OR ".join(parts) + ")"


def scope_mask(labels: pd.DataFrame, scope: Iterable[Slice]) -> np.ndarray:
    """`scope_predicate` over rows already summed by slice labels (``labels[dim]`` holds `label_sql`'s
    text): a boolean mask, all true for the empty scope."""
    scope = tuple(scope)
    n = len(labels)
    if not scope or any(not s.filters for s in scope):
        return np.ones(n, bool)
    mask = np.zeros(n, bool)
    singles: dict[str, list[str]] = {}
    for s in scope:
        if len(s.filters) == 1:
            singles.setdefault(s.filters[0][0], []).append(s.filters[0][1])
            continue
        part = np.ones(n, bool)
        for dim, value in s.filters:
            part &= labels[dim].to_numpy() == value
        mask |= part
    for dim, values in singles.items():
        mask |= labels[dim].isin(values).to_numpy()
    return mask


def slice_label(pairs: Iterable[tuple[str, str]]) -> str:
    """The cube's label of a slice: ``dim=value`` pairs sorted by dimension joined by ``&``; `TOTAL_LABEL`."""
    return Slice(tuple(sorted(pairs))).key


def label_slice(label: str, dimensions: Sequence[str]) -> Slice:
    """The `Slice` of a cube label (`split_label`)."""
    return Slice(split_label(label, dimensions))


def split_label(label: str, dimensions: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """The (dimension, value) pairs of a cube label (`slice_label`; ``*``: the total, no pairs).

    A pair starts at the beginning or after an ``&`` followed by ``dim=`` for a dimension that sorts after
    the previous pair's, so an ``&`` or ``=`` inside a value stays in it; the UI splits the same way
    (``frontend/src/lib/slices.ts``, ``slicePairs``). A label naming no dimension is a `UserError`.
    """
    if label in ("", TOTAL_LABEL):
        return ()
    dims = sorted(dimensions, key=len, reverse=True)  # "region_group" before its prefix "region"

    def starts(at: int, after: str | None) -> str | None:
        return next((d for d in dims if (after is None or d > after) and label.startswith(f"{d}=", at)), None)

    dim = starts(0, None)
    if dim is None:
        raise UserError(f"slice {label!r} names no dimension of this workspace ({', '.join(dimensions)})")
    pairs = []
    start = i = len(dim) + 1
    while i < len(label):
        following = starts(i + 1, dim) if label[i] == "&" else None
        if following is None:
            i += 1
            continue
        pairs.append((dim, label[start:i]))
        dim, start = following, i + 2 + len(following)
        i = start
    pairs.append((dim, label[start:]))
    return tuple(pairs)

