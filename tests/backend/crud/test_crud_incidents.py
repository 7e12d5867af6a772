"""Incident CRUD: severity, dedup upsert, lifecycle transitions (directly, without HTTP)."""

from datetime import datetime

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from backend.actors import Actor
from backend.crud import incidents, workspaces
from backend.errors import Conflict, Invalid
from backend.models import Incident
from tests.backend.conftest import fixture_incidents

ME = Actor("tester", "engineer")


@pytest.mark.parametrize("rel, severity", [(0.25, "critical"), (-0.2, "critical"), (0.12, "high"), (-0.05, "medium"),
                                           (0.049, "low"), (0.0, "low"), (None, "medium"), (float("nan"), "medium")])
def test_severity_of(rel, severity):
    assert incidents.severity_of(rel) == severity


def test_relative_change_guards():
    assert incidents.relative_change(0.0, 1.0) is None
    assert incidents.relative_change(None, 1.0) is None
    assert incidents.relative_change(0.5, 0.4) == pytest.approx(-0.2)
    assert incidents.relative_change(1e-308, 1e308) is None


@pytest.fixture
def ws(sessions, workspace_path):
    with sessions.begin() as s:
        w = workspaces.register(s, workspace_path, ME)
    return w


def test_upsert_dedups_on_key_and_overlap(sessions, ws):
    with sessions.begin() as s:
        w = s.merge(ws)
        first = incidents.upsert(s, w, fixture_incidents(), ME)
        assert len(first.created) == 2
        second = incidents.upsert(s, w, fixture_incidents(), ME)
        assert len(second.created) == 0 and len(second.updated) == 2
        shifted = fixture_incidents()[1]
        shifted.update(start="2026-01-03T06:00:00", end="2026-01-04T06:00:00")
        third = incidents.upsert(s, w, [shifted], ME)
        assert third.updated[0].window_start == datetime(2026, 1, 3) and third.updated[0].window_end == datetime(
            2026, 1, 4, 6)
    with sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Incident)) == 2


def _grouped(metric: str, others: list[str], start: str, end: str) -> dict:
    item = fixture_incidents()[0]
    symptom = {"id": f"r-{metric}", "direction": "down", "start": start, "end": end, "severity": "high",
               "detected_in": "*"}
    item.update(id=f"r-{metric}", metric=metric, start=start, end=end, cause_key="change:batching_threshold_4",
                severity="critical", symptoms=[{**symptom, "metric": m, "id": f"r-{m}"} for m in [metric, *others]])
    return item


def test_one_incident_per_cause_follows_the_cause_across_runs(sessions, ws):
    with sessions.begin() as s:
        w = s.merge(ws)
        first = incidents.upsert(s, w, [_grouped("cx_score", ["on_time_rate", "support_rate"],
                                                 "2026-01-02T10:00:00", "2026-01-04T00:00:00")], ME)
        inc = first.created[0]
        assert (inc.cause_key, inc.symptom_metrics) == ("change:batching_threshold_4",
                                                        ["cx_score", "on_time_rate", "support_rate"])
        assert inc.dedup_key.startswith(f"{w.id}:change:batching_threshold_4:")
        public = incidents.public(inc)
        assert public["symptom_metrics"] == ["cx_score", "on_time_rate", "support_rate"]
        # a later run: the same cause, now led by another symptom, updates the same incident
        again = incidents.upsert(s, w, [_grouped("on_time_rate", ["cx_score"], "2026-01-03T00:00:00",
                                                 "2026-01-05T00:00:00")], ME)
        assert not again.created and again.updated[0].id == inc.id
        assert inc.metric == "on_time_rate" and inc.symptom_metrics == ["on_time_rate", "cx_score"]
        assert incidents.detail(s, inc)["symptoms"][1]["metric"] == "cx_score"
        # the same cause in a window that does not overlap is a new incident
        later = incidents.upsert(s, w, [_grouped("cx_score", [], "2026-01-09T00:00:00", "2026-01-10T00:00:00")], ME)
        assert len(later.created) == 1


def test_timezone_aware_windows_are_stored_as_utc(sessions, ws):
    item = fixture_incidents()[0]
    item.update(start="2026-01-02T12:00:00+02:00", end="2026-01-03T01:00:00+02:00")
    with sessions.begin() as s:
        inc = incidents.upsert(s, s.merge(ws), [item], ME).created[0]
        assert inc.window_start == datetime(2026, 1, 2, 10) and inc.window_end == datetime(2026, 1, 2, 23)


def test_unique_dedup_key_in_the_database(sessions, ws):
    with sessions.begin() as s:
        incidents.upsert(s, s.merge(ws), fixture_incidents()[:1], ME)
    with pytest.raises(sa.exc.IntegrityError), sessions.begin() as s:
        s.add(Incident(workspace_id=ws.id, metric="on_time_rate", slice="*", direction="down",
                       window_start=datetime(2026, 1, 2, 10), window_end=datetime(2026, 1, 5), severity="low",
                       payload={}))


def test_transitions(sessions, ws):
    with sessions.begin() as s:
        inc = incidents.upsert(s, s.merge(ws), fixture_incidents()[:1], ME).created[0]
        incidents.update(s, inc, status="acknowledged", owner=" sam ", notes=None, actor=ME)
        assert inc.owner == "sam"
        incidents.update(s, inc, status="acknowledged", owner=None, notes=None, actor=ME)  # no change: fine
        incidents.update(s, inc, status="resolved", owner=None, notes=None, actor=ME)
        with pytest.raises(Conflict, match="can move to open"):
            incidents.update(s, inc, status="dismissed", owner=None, notes=None, actor=ME)
        assert inc.status == "resolved"


def test_bad_slice_is_invalid(sessions, ws):
    item = fixture_incidents()[0]
    item["slice"] = "region"
    with pytest.raises(Invalid), sessions.begin() as s:
        incidents.upsert(s, s.merge(ws), [item], ME)


def test_recommendation_status_and_next_steps_are_typed(sessions, ws):
    """`cxw analyze` writes recommendation_status and next_steps per incident: detail serves them as fields;
    an entry without them reads null and []; an unknown status is invalid."""
    steps = [{"check": "Check the candidate cause policy A: it failed timing.",
              "decides": "the metric by hour around the change"}]
    owner, other = fixture_incidents()
    owner.update(recommendations=[], experiment_plan=None, recommendation_status="inconclusive", next_steps=steps)
    with sessions.begin() as s:
        w = s.merge(ws)
        by_ext = {i.external_id: i for i in incidents.upsert(s, w, [owner, other], ME).created}
        d = incidents.detail(s, by_ext[owner["id"]])
        assert d["recommendation_status"] == "inconclusive" and d["next_steps"] == steps
        plain = incidents.detail(s, by_ext[other["id"]])
        assert plain["recommendation_status"] is None and plain["next_steps"] == []
    bad = {**fixture_incidents()[0], "recommendation_status": "maybe"}
    with pytest.raises(ValidationError), sessions.begin() as s:
        incidents.upsert(s, s.merge(ws), [bad], ME)
