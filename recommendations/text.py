"""Plain-language formatting of metric values and changes: labels, units, signs, per-day totals.

Rates show as percentages and their changes as points ("+3.1 pts"); composites of rates on the same
0–100 scale; means and ratios in their declared unit. Formatting needs only a metric's ``type`` and
display ``unit`` (a `MetricImpact` has both; `style` makes one from a workspace metric), so reports
render from JSON as well. No statistics vocabulary leaves this module.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from data.workspace import MetricSpec, Workspace


class Style(NamedTuple):
    type: str
    unit: str  # "pts" for rates and composites of rates, else the metric's unit ("" when none)


def style(ws: Workspace, m: MetricSpec) -> Style:
    if m.type == "rate":
        return Style("rate", "pts")
    if m.type == "composite" and all(ws.metric(c).type == "rate" for c in m.weights or {}):
        return Style("composite", "pts")
    return Style(m.type, m.unit or "")


def label(name: str) -> str:
    """``on_time_rate`` → ``on time rate``."""
    return name.replace("_", " ")


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
    if s.unit == "pts":
        return f"{100 * v:.1f}"
    return number(v) + _unit(s)


def change(s, d: float) -> str:
    """A change: ``+3.1 pts`` for rates (and composites of rates), ``+0.80 min`` for a mean."""
    if not finite(d):
        return "n/a"
    if s.unit == "pts":
        return f"{100 * d:+.1f} pts"
    return number(d, sign=True) + _unit(s)


def amount(s, d: float) -> str:
    """A size without sign: ``3.1 pts``."""
    return change(s, abs(d)).lstrip("+") if finite(d) else "n/a"


def span(s, low: float, high: float) -> str:
    """A likely range: ``+2.4 to +3.8 pts``."""
    if not (finite(low) and finite(high)):
        return "n/a"
    if s.unit == "pts":
        return f"{100 * low:+.1f} to {100 * high:+.1f} pts"
    d = max(_digits(low), _digits(high))
    return f"{number(low, True, d)} to {number(high, True, d)}{_unit(s)}"


def per_day(s, total: float) -> str:
    """A daily total: ``+310 orders/day`` for a rate, ``+1,240 min/day`` (``per day`` without a unit)."""
    if not finite(total):
        return "—"
    if s.type == "rate":
        return f"{total:+,.0f} orders/day"
    return f"{total:+,.0f} {s.unit}/day" if s.unit and s.unit != "pts" else f"{total:+,.0f} per day"


def money(x: float | None, currency: str) -> str:
    if x is None or not finite(x):
        return "n/a"
    return f"{'-' if x < 0 else ''}{currency}{abs(x):,.0f}"


def scope_words(scope) -> str:
    """``region=east;region=west`` → ``region east and west``; ``*`` → ``everywhere``."""
    if not scope:
        return "everywhere"
    by_dim: dict[tuple[str, ...], list[str]] = {}
    for s in scope:
        dims = tuple(d for d, _ in s.filters)
        by_dim.setdefault(dims, []).append(" & ".join(v for _, v in s.filters))
    parts = []
    for dims, values in by_dim.items():
        head = " & ".join(dims)
        tail = values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]
        parts.append(f"{head} {tail}")
    return "; ".join(parts)
