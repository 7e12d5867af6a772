"""Scoring an analysis against a generator's ``truth.json``: was it detected, localized, explained?

Used by the accuracy tests and by the calibration of the ranking model. ``truth.json`` (written by the
scenario generators) lists injections, each with its metrics (primary first), start, scope (``*`` or
slices joined by ``;``) and cause (hypothesis, change_event, feature).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from data.slices import Slice, parse_scope
from detection.types import Interval, Regression
from rca.types import Cause, Incident


def truth_scope(text: str) -> frozenset[str]:
    """Canonical slice keys of a truth scope; ``{"*"}`` for everything."""
    slices = parse_scope(text)
    return frozenset(s.key for s in slices) if slices else frozenset({"*"})


def cause_matches(cause: Cause | dict, truth_cause: dict, check_hypothesis: bool = True) -> bool:
    """The cause names the injected one: its change event when the truth has one, else its driver feature;
    and (``check_hypothesis``) the same hypothesis."""
    get = cause.get if isinstance(cause, dict) else (lambda k: getattr(cause, k))
    if check_hypothesis and get("hypothesis") != truth_cause.get("hypothesis"):
        return False
    if truth_cause.get("change_event"):
        return get("change_event") == truth_cause["change_event"]
    return get("change_event") is None and get("feature") == truth_cause.get("feature")


def incident_matches(incident: Incident, injection: dict, tolerance: timedelta = timedelta(days=2)) -> bool:
    """The incident is about this injection: one of its symptoms is one of its metrics, starting near or after
    its start."""
    start = datetime.fromisoformat(injection["start"])
    return any(s.regression.metric in injection["metrics"] and s.regression.end > start
               and s.regression.start >= start - tolerance for s in incident.all_symptoms)


def localized_exactly(incident: Incident, injection: dict) -> bool:
    """The localized slices are exactly the injected scope (as a set of slices)."""
    found = frozenset(s.key for s in incident.slices)
    return found == truth_scope(injection["scope"])


@dataclass(frozen=True)
class InjectionScore:
    scenario: str
    metric: str
    detected: bool
    localized: bool
    cause_first: bool
    top: str | None
    confidence: float | None


def score_injection(incidents: list[Incident], injection: dict, scenario: str = "") -> InjectionScore:
    """Score one injection: detected when an incident is about it (any of its metrics); localization and
    cause are scored on the incident with its primary metric among its symptoms, else on its most severe
    matching incident (``incidents`` in report order)."""
    primary = injection["metrics"][0]
    mine = [i for i in incidents if incident_matches(i, injection)]
    if not mine:
        return InjectionScore(scenario, primary, False, False, False, None, None)
    inc = next((i for i in mine if primary in {s.regression.metric for s in i.all_symptoms}), mine[0])
    top = inc.causes[0] if inc.causes else None
    label = None if top is None else f"{top.hypothesis}:{top.change_event or top.feature}"
    first = top is not None and not inc.inconclusive and cause_matches(top, injection["cause"])
    return InjectionScore(scenario, inc.regression.metric, True, localized_exactly(inc, injection), first, label,
                          None if top is None else top.confidence)


def regressions_from_truth(truth: dict, grain: Literal["hour", "day"] = "hour", metrics: list[str] | None = None,
                           delay: timedelta = timedelta(hours=1)) -> list[Regression]:
    """Regressions as a perfect detector would report them: the injected metrics, start (+``delay``) and scope."""
    out = []
    end = datetime.fromisoformat(truth["end"])
    for k, inj in enumerate(truth["injections"]):
        start = datetime.fromisoformat(inj["start"]) + delay
        scope = parse_scope(inj["scope"])
        slices = tuple(Slice(s.filters, share=1.0 / len(scope)) for s in scope) or (Slice((), share=1.0),)
        for metric in metrics or inj["metrics"]:
            direction = inj.get("direction", {}).get(metric, "down")
            out.append(Regression(
                id=f"truth-{k}-{metric}", metric=metric, direction=direction, start=start, end=end,
                baseline=float("nan"), current=float("nan"), change=float("nan"),
                change_interval=Interval(float("nan"), float("nan")), relative_change=float("nan"),
                relative_interval=Interval(float("nan"), float("nan")), p_value=float("nan"), q_value=float("nan"),
                slice=Slice(()), slices=slices, grain=grain, baseline_start=start - timedelta(days=14)))
    return out
