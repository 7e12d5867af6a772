"""CX gain against efficiency and money cost: the exchange rate and a verdict.

Efficiency metrics are the workspace's metrics with ``role: efficiency`` (e.g. courier minutes per
order); a cost is an efficiency metric that the action moves the wrong way, with its whole likely range
on the wrong side of zero. Prices come from the
workspace's ``recommendations.unit_costs``: a metric name prices one unit of that metric per order; a
named cost (``courier_incentive_per_order``) that an action refers to prices each affected order.

The verdict is a fixed rule over the intervals, so the text it feeds is reproducible:

- ``not_estimated``: the primary metric's change could not be estimated;
- ``not_recommended``: the primary metric is expected to get worse, or a CX / guardrail metric gets
  worse with its whole likely range on the bad side;
- ``recommended`` / ``recommended_with_cost``: the primary gain's whole likely range is positive,
  without / with an efficiency or money cost;
- ``test_first``: the expected gain is positive but its likely range includes no change.
"""

from __future__ import annotations

import math

from data.workspace import Workspace
from detection.types import Interval
from recommendations import text
from recommendations.types import Action, CostLine, Impact, MetricImpact, Tradeoff, Verdict

VERDICT_WORDS = {
    "recommended": "Do it",
    "recommended_with_cost": "Do it, accepting the cost",
    "test_first": "Test it first",
    "not_recommended": "Don't do it",
    "not_estimated": "Impact not estimated",
}


def _oriented(mi: MetricImpact) -> Interval:
    lo, hi = mi.interval.low, mi.interval.high
    if mi.good == "down":
        lo, hi = -hi, -lo
    return Interval(lo, hi, mi.interval.level)


def efficiency_costs(ws: Workspace, impact: Impact, unit_costs: dict[str, float]) -> list[CostLine]:
    """Efficiency metrics that the action moves the wrong way, priced where a unit cost is declared."""
    costs = []
    for mi in impact.metrics:
        if mi.role != "efficiency" or mi.improves is not False:  # only a clear cost: its range wholly worse
            continue
        price = unit_costs.get(mi.metric)
        money = abs(mi.per_day) * price if price is not None and math.isfinite(mi.per_day) else None
        costs.append(CostLine(mi.metric, "efficiency", mi.change, mi.per_day, mi.interval, mi.unit, money))
    return costs


def action_cost(action: Action, impact: Impact, unit_costs: dict[str, float]) -> CostLine | None:
    """The action's own priced cost (e.g. incentives per affected order), None if it has none."""
    if action.cost is None:
        return None
    price = unit_costs.get(action.cost)
    if price is None:
        return CostLine(action.cost, "money", float("nan"), float("nan"), None, "", None)
    per_day = price * impact.orders_per_day
    return CostLine(action.cost, "money", price, per_day, None, "", per_day)


def tradeoff(ws: Workspace, impact: Impact, primary: str, action: Action, unit_costs: dict[str, float],
             currency: str = "$") -> Tradeoff:
    """Weigh the primary metric's gain against efficiency and money costs (see the module docstring)."""
    p = impact.metric(primary)
    gain_iv = _oriented(p)
    cx_gains = tuple(mi.metric for mi in impact.metrics if mi.role == "cx" and mi.improves is True)
    cx_harms = tuple(mi.metric for mi in impact.metrics if mi.role in ("cx", "guardrail") and mi.improves is False)
    costs = efficiency_costs(ws, impact, unit_costs)
    own = action_cost(action, impact, unit_costs)
    if own is not None:
        costs.append(own)
    priced = [c.money_per_day for c in costs if c.money_per_day is not None]
    money_per_day = float(sum(priced)) if priced else None

    verdict: Verdict
    if not math.isfinite(p.change):
        verdict = "not_estimated"
    elif p.improves is False or p.gain < 0 or cx_harms:
        verdict = "not_recommended"
    elif p.improves is True:
        verdict = "recommended_with_cost" if costs else "recommended"
    else:
        verdict = "test_first"

    gain_text = f"{text.change(p, p.change)} {text.label(primary)}"
    cost_texts = []
    for c in costs:
        if c.kind == "efficiency":
            cost_texts.append(f"{text.change(impact.metric(c.name), c.per_order)} {text.label(c.name)}")
        elif c.money_per_day is not None:
            cost_texts.append(f"{text.money(c.money_per_day, currency)}/day of {text.label(c.name)}")
    if not math.isfinite(p.change):
        exchange = "not estimated"
    elif cost_texts:
        exchange = f"{gain_text} for {' and '.join(cost_texts)}"
    else:
        exchange = f"{gain_text} at no measured efficiency cost"

    summary = _summary(impact, p, costs, cx_harms, verdict, exchange, currency, money_per_day,
                       reverts=action.lever == "revert_event")
    return Tradeoff(primary, p.gain if math.isfinite(p.change) else float("nan"), gain_iv, cx_gains, cx_harms,
                    tuple(costs), money_per_day, exchange, verdict, summary)


def _summary(impact: Impact, p: MetricImpact, costs: list[CostLine], harms: tuple[str, ...], verdict: str,
             exchange: str, currency: str, money_per_day: float | None, reverts: bool) -> str:
    head = VERDICT_WORDS[verdict]
    if verdict == "not_estimated":
        return f"{head}: no estimate of the change in {text.label(p.metric)} is available."
    sentence = (f"{head}: {exchange} ({text.label(p.metric)} likely "
                f"{text.span(p, p.interval.low, p.interval.high)}).")
    extra = []
    for c in costs:
        if c.kind == "efficiency":
            ci = impact.metric(c.name)
            what = f"{text.label(c.name)}, {text.per_day(ci, c.per_day)}"
            if c.money_per_day is not None:
                what += f" (about {text.money(c.money_per_day, currency)} a day)"
            extra.append(f"It gives back what the change saved on {what}." if reverts else f"It costs {what}.")
            if p.unit in text.SCALED and math.isfinite(p.gain) and p.gain > 0:
                per_point = abs(c.per_order) / (100 * p.gain)
                point = "percentage point" if p.unit == "pp" else "point"
                extra.append(f"Each {point} of {text.label(p.metric)} costs {text.number(per_point)}"
                             f"{' ' + ci.unit if ci.unit else ''} of {text.label(c.name)}.")
        elif c.money_per_day is None:
            extra.append(f"The cost of {text.label(c.name)} is not priced: declare "
                         f"recommendations.unit_costs.{c.name} in the workspace.")
    if money_per_day is not None:
        extra.append(f"Priced cost: {text.money(money_per_day, currency)} per day.")
    if harms:
        extra.append("It is expected to worsen " + ", ".join(text.label(h) for h in harms) + ".")
    return " ".join([sentence] + extra)
