"""SQL over the workspace's ``records`` view: scopes, per-metric sums, daily panels and samples.

Every metric that is not a composite is sum(X) / sum(Y) over records (`data.workspace.MetricSpec`);
this module writes X and Y per record as SQL so that scans and aggregations run in the workspace's record
engine (`OpenWorkspace.engine`: DuckDB or Spark, the SQL written once), and Python
only sees sums, daily panels and bounded samples. Composites are weighted sums of their oriented
components and are computed from the components' values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from data.engines import sample_key
from data.errors import UserError
from data.slices import Slice
from data.sources import OpenWorkspace, quote, sql_literal
from data.workspace import Workspace
from metrics.definitions import base_metrics, composite_value, record_sql, scope_predicate


def all_values(ws: Workspace, values: dict[str, float]) -> dict[str, float]:
    """Base metric values plus every composite computed from them (`metrics.definitions.composite_value`)."""
    out = dict(values)
    for m in ws.metrics:
        if m.type == "composite":
            out[m.name] = composite_value(m, ws.metrics, values.__getitem__)
    return out


# ---------------------------------------------------------------------------------------------------
# scopes
# ---------------------------------------------------------------------------------------------------


def parse_scope_text(text: str | None) -> tuple[Slice, ...]:
    """``region=west&channel=ios;region=east`` (or ``*``) into slices; UserError when malformed."""
    from data.slices import parse_scope

    try:
        return parse_scope(text or "*")
    except ValueError as err:
        raise UserError(f"--scope: {err}") from None


def check_scope(ow: OpenWorkspace, scope: tuple[Slice, ...], where: str = "scope") -> None:
    """Every slice names workspace dimensions and matches records; UserError naming the bad part."""
    dims = ow.workspace.records.dimensions
    for s in scope:
        for dim, value in s.filters:
            if dim not in dims:
                raise UserError(f"{where}: {dim!r} is not a dimension of {ow.workspace.name} ({', '.join(dims)})")
        if not ow.engine.row(f"SELECT 1 FROM records WHERE {scope_predicate((s,))} LIMIT 1"):
            for dim, value in s.filters:
                if not ow.engine.row(f"SELECT 1 FROM records WHERE {scope_predicate((Slice(((dim, value),)),))} "
                                     "LIMIT 1"):
                    raise UserError(f"{where}: no records have {dim}={value}")
            raise UserError(f"{where}: no records in slice {s.key}")


# ---------------------------------------------------------------------------------------------------
# sums over a window
# ---------------------------------------------------------------------------------------------------


def ts_col(ws: Workspace) -> str:
    return quote(ws.records.timestamp)


def ts_literal(t: datetime) -> str:
    return f"TIMESTAMP {sql_literal(pd.Timestamp(t).isoformat(sep=' '))}"


def time_range(ow: OpenWorkspace) -> tuple[datetime, datetime]:
    lo, hi = ow.engine.row(f"SELECT min({ts_col(ow.workspace)}), max({ts_col(ow.workspace)}) FROM records")
    return pd.Timestamp(lo).to_pydatetime(), pd.Timestamp(hi).to_pydatetime()


DAY_MICROS = 86_400_000_000


def micros_since(origin: datetime, ts: str) -> str:
    """Microseconds from ``origin`` to the timestamp ``ts`` as an integer, the same number on every engine:
    ``date_diff('microsecond', ...)`` (Spark: ``datediff(MICROSECOND, ...)``), not ``epoch`` of an interval,
    which Spark cannot take. Divided by a whole number of microseconds and floored, it numbers buckets."""
    return f"date_diff('microsecond', {ts_literal(origin)}, {ts})"


def window_where(ws: Workspace, start: datetime | None, end: datetime | None) -> str:
    parts = []
    if start is not None:
        parts.append(f"{ts_col(ws)} >= {ts_literal(start)}")
    if end is not None:
        parts.append(f"{ts_col(ws)} < {ts_literal(end)}")
    return " AND ".join(parts) or "TRUE"


@dataclass(frozen=True)
class WindowStats:
    """Per-metric moments in a scope and window: values, per-record SDs, daily denominators."""

    records: int
    days: float
    values: dict[str, float]  # every metric incl. composites
    sd: dict[str, float]  # per-record SD of base metrics (rate: sqrt(p(1-p)); ratio: linearized)
    denominator: dict[str, float]  # ΣY of base metrics
    all_records: int  # records in the window, any scope

    @property
    def records_per_day(self) -> float:
        return self.records / self.days if self.days > 0 else float("nan")

    def denominator_per_day(self, metric: str) -> float:
        return self.denominator[metric] / self.days if self.days > 0 else float("nan")


def window_stats(ow: OpenWorkspace, scope: tuple[Slice, ...], start: datetime, end: datetime) -> WindowStats:
    """Sums of every base metric in ``scope`` over [start, end), one scan."""
    return window_stats_many(ow, [(scope, start, end)])[(scope, start, end)]


MASK_BITS = 63  # the scan's mask is a signed BIGINT: bits 0..62


def _mask_batches(keys: list[tuple]) -> list[list[tuple]]:
    """``keys`` in order, cut into batches whose mask fits: one bit per key plus one per distinct window."""
    batches: list[list[tuple]] = []
    current: list[tuple] = []
    windows: set[tuple] = set()
    for key in keys:
        window = (key[1], key[2])
        if current and len(current) + 1 + len(windows | {window}) > MASK_BITS:
            batches.append(current)
            current, windows = [], set()
        current.append(key)
        windows.add(window)
    return batches + [current] if current else batches


def window_stats_many(ow: OpenWorkspace, keys: list[tuple[tuple[Slice, ...], datetime, datetime]]
                      ) -> dict[tuple, WindowStats]:
    """`window_stats` for many (scope, start, end) at once, in one scan over the union of the windows.

    Each record gets a bit mask (bit k: inside key k's scope and window; then one bit per distinct
    window); the scan sums per mask, and each key adds up the masks that have its bit.
    """
    ws = ow.workspace
    keys = list(dict.fromkeys(keys))
    batches = _mask_batches(keys)
    if len(batches) > 1:
        return {k: v for batch in batches for k, v in window_stats_many(ow, batch).items()}
    if not keys:
        return {}
    specs = [record_sql(m) for m in base_metrics(ws)]
    ts = ts_col(ws)
    windows = list(dict.fromkeys((start, end) for _, start, end in keys))
    bits = [f"{scope_predicate(scope)} AND {ts} >= {ts_literal(start)} AND {ts} < {ts_literal(end)}"
            for scope, start, end in keys]
    bits += [f"{ts} >= {ts_literal(start)} AND {ts} < {ts_literal(end)}" for start, end in windows]
    mask = " + ".join(f"(CASE WHEN {b} THEN {1 << j} ELSE 0 END)" for j, b in enumerate(bits))
    cols = ", ".join(f"{s.x} AS _x{i}_, {s.y} AS _y{i}_" for i, s in enumerate(specs))
    sums = ", ".join(f"sum(_x{i}_), sum(_y{i}_), sum(_x{i}_*_x{i}_), sum(_y{i}_*_y{i}_), sum(_x{i}_*_y{i}_), "
                     f"count(_y{i}_)" for i in range(len(specs)))
    lo, hi = min(k[1] for k in keys), max(k[2] for k in keys)
    frame = ow.engine.frame(f"SELECT _mask_, count(*), {sums} FROM (SELECT CAST({mask} AS BIGINT) AS _mask_, {cols} "
                            f"FROM records WHERE {window_where(ws, lo, hi)}) GROUP BY _mask_ ORDER BY _mask_")
    masks = frame.iloc[:, 0].to_numpy(dtype=np.int64)
    table = np.nan_to_num(frame.iloc[:, 1:].to_numpy(dtype=float)).reshape(len(frame), 1 + 6 * len(specs))
    out = {}
    for k, (scope, start, end) in enumerate(keys):
        block = table[(masks >> k) & 1 == 1].sum(axis=0)
        n_all = int(table[(masks >> (len(keys) + windows.index((start, end)))) & 1 == 1, 0].sum())
        values, sd, den = {}, {}, {}
        for i, s in enumerate(specs):
            sx, sy, sxx, syy, sxy, cnt = (float(v) for v in block[1 + 6 * i: 7 + 6 * i])
            r = sx / sy if sy else float("nan")
            values[s.name] = r
            den[s.name] = sy
            if cnt > 1 and sy:
                ybar = sy / cnt
                # linearized per-record variance of a ratio of sums: Var(X - R·Y) / Ȳ²
                resid = (sxx - 2 * r * sxy + r * r * syy) / cnt
                sd[s.name] = float(np.sqrt(max(resid, 0.0)) / ybar)
            else:
                sd[s.name] = float("nan")
        days = (pd.Timestamp(end) - pd.Timestamp(start)) / pd.Timedelta(days=1)
        out[(scope, start, end)] = WindowStats(int(block[0]), float(days), all_values(ws, values), sd, den, n_all)
    return out


# ---------------------------------------------------------------------------------------------------
# daily panels for difference-in-differences
# ---------------------------------------------------------------------------------------------------


def daily_panel(ow: OpenWorkspace, scope: tuple[Slice, ...], t0: datetime, start: datetime,
                end: datetime, *, treated: str | None = None, control: str | None = None) -> pd.DataFrame:
    """ΣX, ΣY per metric by day (aligned to ``t0``: day 0 starts at t0) and group (treated = in scope).

    ``treated`` and ``control`` (SQL predicates built from checked scopes) replace "in scope" and
    "outside it"; records in neither are left out. Returns columns ``day, treated, n, x_<metric>,
    y_<metric>``; only days fully inside [start, end).
    """
    ws = ow.workspace
    specs = [record_sql(m) for m in base_metrics(ws)]
    day = f"CAST(floor({micros_since(t0, ts_col(ws))} / {DAY_MICROS}) AS BIGINT)"
    # DOUBLE as written: a sum of DECIMAL literals (``THEN 1.0``) is a DECIMAL, which Spark hands over as Decimal
    sums = ", ".join(f"CAST(sum({s.x}) AS DOUBLE) AS {quote('x_' + s.name)}, "
                     f"CAST(sum({s.y}) AS DOUBLE) AS {quote('y_' + s.name)}" for s in specs)
    inside = treated or scope_predicate(scope)
    where = window_where(ws, start, end) + (f" AND (({inside}) OR ({control}))" if control else "")
    frame = ow.engine.frame(
        f"SELECT {day} AS day, coalesce({inside}, FALSE) AS treated, count(*) AS n, {sums} FROM records "
        f"WHERE {where} GROUP BY ALL ORDER BY day, treated")
    first = int(np.ceil((pd.Timestamp(start) - pd.Timestamp(t0)) / pd.Timedelta(days=1)))
    last = int(np.floor((pd.Timestamp(end) - pd.Timestamp(t0)) / pd.Timedelta(days=1))) - 1
    return frame[(frame["day"] >= first) & (frame["day"] <= last)].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------
# samples for outcome models
# ---------------------------------------------------------------------------------------------------


def sample_records(ow: OpenWorkspace, select: list[str], where: str, n: int, seed: int) -> pd.DataFrame:
    """Up to ``n`` records matching ``where``, drawn uniformly and reproducibly, as pandas, on the workspace's
    engine.

    DuckDB's reservoir sample is only repeatable single-threaded, and the engines' hash functions differ:
    the records are ordered by `data.engines.sample_key` (an md5 of the seed and the record's id, or its text
    and a fingerprint of its numbers, the same in both engines), ties by the selected values, so both engines draw
    the same sample for the same data and seed, with a top-n heap rather than a sort.
    """
    ties = ", ".join(str(k) for k in range(1, len(select) + 1))
    return ow.engine.frame(
        f"SELECT {', '.join(select)} FROM (SELECT *, {sample_key(ow.columns, seed, ow.workspace.records.id)} AS _sample_key FROM records "
        f"WHERE {where}) ORDER BY _sample_key, {ties} LIMIT {int(n)}")


def feature_kinds(ow: OpenWorkspace) -> dict[str, str]:
    """``numeric`` or ``categorical`` for each workspace feature, from the DuckDB column types."""
    from data.sources import NUMERIC_TYPES

    kinds = {}
    for f in ow.workspace.records.features:
        t = ow.columns[f].upper()
        kinds[f] = "numeric" if (t in NUMERIC_TYPES or t.startswith("DECIMAL") or t == "BOOLEAN") else "categorical"
    return kinds


def distinct_count(ow: OpenWorkspace, column: str, limit: int = 1000) -> int:
    return int(ow.engine.row(f"SELECT count(*) FROM (SELECT DISTINCT {quote(column)} FROM records LIMIT {limit})")[0])


def day_span(start: datetime, end: datetime) -> float:
    return (pd.Timestamp(end) - pd.Timestamp(start)) / pd.Timedelta(days=1)


def clamp_window(ow: OpenWorkspace, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    lo, hi = time_range(ow)
    hi = hi + timedelta(microseconds=1)
    return max(start, lo), min(end, hi)
