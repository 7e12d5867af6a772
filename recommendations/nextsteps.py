"""Next steps for an inconclusive incident: what to check, and which data would decide it.

An incident without a cause the RCA stage trusts gets no action and no impact numbers; it gets
checks instead, each filled from the incident itself — its localized slices, its onset, the candidate
causes that were tested and the evidence tests they failed — so a reader knows what to look at and
what observation would settle the question. Nothing here is estimated.
"""

from __future__ import annotations

from rca.types import Cause, Evidence, Incident
from recommendations import text
from recommendations.types import NextStep

# what would decide each evidence test that a candidate cause failed
DECIDING_DATA = {
    "timing": "the metric by hour around {when}: a break that starts with the change, not before or after it",
    "scope": "the metric in and outside {scope}: the drop should be where the change applies and nowhere else",
    "did": "a comparison group: the metric in comparable slices the change did not touch, before and after {when}",
    "event_study": "the metric day by day before and after {when} in {scope}: flat before, a step after",
    "shap": "the driver's values by hour in {scope}: did it move when the metric did?",
    "placebo_time": "the same comparison at dates when nothing changed: it should show no effect",
    "placebo_scope": "the same comparison in slices the change did not reach: it should show no effect",
    "placebo_its": "the series' own ups and downs at other times: the drop should stand out from them",
}
MAX_CAUSES = 3


def _subject(cause: Cause) -> str:
    what = cause.change_event or cause.feature or cause.hypothesis.replace("_", " ")
    return f"{what} ({cause.hypothesis.replace('_', ' ')}) in {text.scope_words(cause.scope)}"


def _failed(cause: Cause) -> list[Evidence]:
    return [e for e in cause.evidence.values() if not e.supports]


def next_steps(incident: Incident) -> tuple[NextStep, ...]:
    """Checks for an inconclusive incident, most specific first (see the module docstring)."""
    reg = incident.regression
    slices = tuple(s for s in incident.slices if s.filters)
    where = text.scope_words(slices) if slices else "all orders"
    when = f"{(incident.onset or reg.start):%Y-%m-%d %H:%M}"
    metric = text.label(reg.metric)
    steps: list[NextStep] = []
    conf = incident.confirmation
    if conf is not None and not conf.supports:
        steps.append(NextStep(
            f"Confirm that {metric} really moved in {where}: its change does not clearly stand out from the "
            "series' ordinary ups and downs.",
            f"the next days of {metric} in {where}: a drop that persists confirms it, a return to the baseline "
            "makes it noise."))
    for cause in sorted(incident.causes, key=lambda c: -c.confidence)[:MAX_CAUSES]:
        failed = _failed(cause)
        values = {"when": f"{cause.onset:%Y-%m-%d %H:%M}" if cause.onset else when,
                  "scope": text.scope_words(cause.scope)}
        deciding = [DECIDING_DATA[e.test].format(**values) for e in failed if e.test in DECIDING_DATA]
        why = (f"it failed {', '.join(sorted({e.test.replace('_', ' ') for e in failed}))}" if failed
               else "its evidence is too weak to act on")
        steps.append(NextStep(
            f"Check the candidate cause {_subject(cause)} (confidence {100 * cause.confidence:.0f}%): {why}.",
            "; ".join(dict.fromkeys(deciding)) or
            f"more days of data after {values['when']} in {values['scope']}, or the change's exact time and scope"))
    if not incident.causes:
        steps.append(NextStep(
            f"Look for a change that the change log does not record in {where} around {when}: deploys, "
            "configuration, pricing or policy changes, partner or supply problems.",
            f"a change-log entry with its time and scope near {when}, or a recorded driver (a workspace feature) "
            f"that moved in {where} at that time; either can then be tested like the logged changes."))
    steps.append(NextStep(
        f"Break {metric} in {where} down by the other dimensions and by hour to see where the drop concentrates.",
        "a slice that carries most of the drop narrows the search to the teams and changes that touch it."))
    return tuple(steps)
