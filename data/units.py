"""How a metric's values and changes are written, from its definition in the workspace (one unit per
quantity): a rate as a percentage, its changes in percentage points (pp); a composite of rates on a 0–100
score, its changes in points (pts); a mean or ratio in its ``unit`` or ``currency``. Every stage that
writes numbers for people (the RCA report, recommendations, plans) formats them here, so they agree.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from data.workspace import MetricSpec, Workspace

SCALED = ("pp", "pts")  # units of values held as fractions and shown ×100


class Style(NamedTuple):
    type: str
    unit: str  # "pp" for rates, "pts" for composites of rates, else the metric's unit or currency ("" when none)


def style(ws: Workspace, m: MetricSpec) -> Style:
    """How a metric's values and changes are written, from its definition in the workspace."""
    if m.type == "rate":
        return Style("rate", "pp")
    if m.type == "composite" and all(ws.metric(c).type == "rate" for c in m.weights or {}):
        return Style("composite", "pts")
    return Style(m.type, m.currency or m.unit or "")


def _digits(x: float) -> int:
    a = abs(x)
    if a == 0 or not math.isfinite(a):
        return 1
    if a >= 100:
        return 0
    if a >= 10:
        return 1
    if a >= 1:
        return 2
    return min(4, 1 - int(math.floor(math.log10(a))))


def finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def number(x: float, sign: bool = False, digits: int | None = None) -> str:
    if not finite(x):
        return "n/a"
    d = _digits(x) if digits is None else digits
    return f"{x:+,.{d}f}" if sign else f"{x:,.{d}f}"


def _unit(s) -> str:
    return f" {s.unit}" if s.unit else ""


def value(s, v: float) -> str:
    """A metric's value: ``82.3%`` for a rate, ``81.2`` for a composite of rates, ``31.4 min`` for a mean."""
    if not finite(v):
        return "n/a"
    if s.type == "rate":
        return f"{100 * v:.1f}%"
    if s.unit in SCALED:
        return f"{100 * v:.1f}"
    return number(v) + _unit(s)


def change(s, d: float) -> str:
    """A change: ``+3.1 pp`` for a rate, ``+3.1 pts`` for a composite of rates, ``+0.80 min`` for a mean."""
    if not finite(d):
        return "n/a"
    if s.unit in SCALED:
        return f"{100 * d:+.1f} {s.unit}"
    return number(d, sign=True) + _unit(s)


def amount(s, d: float) -> str:
    """A size without sign: ``3.1 pp``."""
    return change(s, abs(d)).lstrip("+") if finite(d) else "n/a"


def span(s, low: float, high: float) -> str:
    """A likely range: ``+2.4 to +3.8 pp``."""
    if not (finite(low) and finite(high)):
        return "n/a"
    if s.unit in SCALED:
        return f"{100 * low:+.1f} to {100 * high:+.1f} {s.unit}"
    d = max(_digits(low), _digits(high))
    return f"{number(low, True, d)} to {number(high, True, d)}{_unit(s)}"


def per_day(s, total: float) -> str:
    """A daily total: ``+310 orders/day`` for a rate, ``+1,240 min/day`` (``per day`` without a unit)."""
    if not finite(total):
        return "—"
    if s.type == "rate":
        return f"{total:+,.0f} orders/day"
    return f"{total:+,.0f} {s.unit}/day" if s.unit and s.unit not in SCALED else f"{total:+,.0f} per day"


def scope_words(scope) -> str:
    """A scope in words, from its slices' values: ``region=east;region=west`` → ``region east and west``;
    ``basket_bucket=2-3&category=restaurant`` → ``basket_bucket 2-3 and category restaurant``; slices on
    different dimensions are joined by "or" (a record in any of them); ``*`` → ``everywhere``."""
    if not scope:
        return "everywhere"
    singles: dict[str, list[str]] = {}
    combined: list[str] = []
    for s in scope:
        if not s.filters:
            return "everywhere"
        if len(s.filters) == 1:
            singles.setdefault(s.filters[0][0], []).append(s.filters[0][1])
        else:
            combined.append(" and ".join(f"{d} {v}" for d, v in s.filters))
    parts = [f"{dim} {values[0] if len(values) == 1 else ', '.join(values[:-1]) + ' and ' + values[-1]}"
             for dim, values in singles.items()]
    return " or ".join(parts + combined)
