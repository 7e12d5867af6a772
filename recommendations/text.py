"""Plain-language formatting of metric values and changes: labels, units, signs, per-day totals.

The units come from the metric's definition (`data.units`, shared with the RCA report): rates show as
percentages and their changes in pp ("+3.1 pp"); composites of rates on a 0–100 score in points; means
and ratios in their declared unit or currency. Formatting needs only a metric's ``type`` and display
``unit`` (a `MetricImpact` has both; `style` makes one from a workspace metric), so reports render from
JSON as well. No statistics vocabulary leaves this module.
"""

from __future__ import annotations

from data.units import SCALED, Style, amount, change, finite, number, per_day, scope_words, span, style, value


def label(name: str) -> str:
    """``on_time_rate`` → ``on time rate``."""
    return name.replace("_", " ")


def money(x: float | None, currency: str) -> str:
    if x is None or not finite(x):
        return "n/a"
    return f"{'-' if x < 0 else ''}{currency}{abs(x):,.0f}"


__all__ = ["SCALED", "Style", "amount", "change", "finite", "label", "money", "number", "per_day", "scope_words",
           "span", "style", "value"]
