"""Incidents grouped by cause, and numbers that agree: one change that moves two metrics is one incident
with both symptoms; an independent change is an incident of its own; the same change in disjoint scopes or
windows is not shared. Figures are measured in the incident's scope, in the metric's units, graded by
standard errors; the report's prose is made of the JSON's values; evidence states its decision rules."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pytest
from pydantic import TypeAdapter

from backend.analysis import analyze_workspace
from data import units
from data.errors import WorkspaceError
from data.sources import open_workspace
from data.slices import Slice
from data.workspace import load_workspace
from detection.types import Interval, Regression
from rca.evidence.timing import onset_words
from rca.grouping import group_by_cause, scopes_overlap
from rca.report import IncidentReport, severity, severity_label
from rca.scoped import scope_changes
from rca.types import Cause, ConfirmationEvidence, Incident
from tests.rca.helpers import at_day, panel_records, write_workspace

CHANGE = at_day(12) + timedelta(hours=14)
OTHER = at_day(15) + timedelta(hours=3)


@pytest.fixture(scope="module")
def two_causes(tmp_path_factory):
    """threshold_raise (grp g0, day 12 14:00) raises y and w by 0.8; radius_cap (grp g2, day 15 03:00)
    raises v by 0.8. Three regressions, two causes."""
    records = panel_records(seed=3, per_hour=1,
                            effects={lambda u, g: g == "g0": (12 + 14 / 24, lambda d: 0.8 + 0 * d)})
    rng = np.random.default_rng(4)
    g0_after = (records["grp"] == "g0") & (records["ts"] >= CHANGE)
    g2_after = (records["grp"] == "g2") & (records["ts"] >= OTHER)
    records["w"] = 3 + rng.normal(0, 1, len(records)) + np.where(g0_after, 0.8, 0.0)
    records["v"] = 2 + rng.normal(0, 1, len(records)) + np.where(g2_after, 0.8, 0.0)
    metrics = [{"name": n, "type": "mean", "expr": c, "good": "down"}
               for n, c in (("y_mean", "y"), ("w_mean", "w"), ("v_mean", "v"))]
    folder = tmp_path_factory.mktemp("grouping")
    path = write_workspace(folder / "ws", records, [(CHANGE, "threshold_raise", "policy", "grp=g0"),
                                                    (OTHER, "radius_cap", "policy", "grp=g2")], metrics=metrics)
    return analyze_workspace(path, folder / "out", recommend=0), folder / "out"


def test_one_change_moving_two_metrics_is_one_incident(two_causes):
    result, out = two_causes
    by_cause = {i.cause_key: i for i in result.incidents}
    assert set(by_cause) == {"change:threshold_raise", "change:radius_cap"}
    shared = by_cause["change:threshold_raise"]
    assert {s.regression.metric for s in shared.all_symptoms} == {"y_mean", "w_mean"}
    assert severity(shared) >= severity(shared.symptoms[0])  # the most affected leads
    alone = by_cause["change:radius_cap"]
    assert [s.regression.metric for s in alone.all_symptoms] == ["v_mean"]
    doc = json.loads((out / "incidents.json").read_text())
    assert len(doc["incidents"]) == 2
    entry = next(e for e in doc["incidents"] if e["cause_key"] == "change:threshold_raise")
    assert [s["metric"] for s in entry["symptoms"]][0] == entry["metric"]
    assert {s["metric"] for s in entry["symptoms"]} == {"y_mean", "w_mean"}
    report = (out / "report.md").read_text()
    assert "2 incident(s), one per cause" in report


def _incident(metric: str, event: str | None, scope: str, start_day: float, z: float,
              inconclusive: bool = False) -> Incident:
    slices = tuple(Slice.parse(s) for s in scope.split(";")) if scope != "*" else ()
    start = at_day(start_day)
    reg = Regression(id=f"{metric}-{event}-{scope}", metric=metric, direction="up", start=start,
                     end=start + timedelta(days=3), baseline=1.0, current=1.0 + z, change=z,
                     change_interval=Interval(z - 1.96, z + 1.96), relative_change=z, relative_interval=Interval(0, 0),
                     p_value=0.0, q_value=0.0, slice=Slice(()), slices=slices)
    causes = () if event is None else (Cause("policy_change", event, None, slices, 0.9, {}, "s"),)
    return Incident(reg, causes, inconclusive=inconclusive)


def test_grouping_needs_the_same_cause_overlapping_scope_and_window():
    incidents = [
        _incident("a", "e1", "grp=g0", 10, 5.0),
        _incident("b", "e1", "grp=g0;grp=g1", 11, 9.0),  # same change, overlapping scope and window
        _incident("c", "e1", "grp=g3", 10, 7.0),  # same change, disjoint scope
        _incident("d", "e1", "grp=g0", 20, 6.0),  # same change, a later window
        _incident("e", "e2", "grp=g0", 10, 8.0),  # another change
        _incident("f", None, "grp=g0", 10, 4.0),  # no cause
        _incident("g", "e1", "grp=g0", 10, 3.0, inconclusive=True),  # below the bar: not a confirmed cause
    ]
    groups = group_by_cause(incidents, severity)
    shape = [(g.regression.metric, [s.regression.metric for s in g.symptoms]) for g in groups]
    assert shape == [("b", ["a"]), ("e", []), ("c", []), ("d", []), ("f", []), ("g", [])]
    assert [g.cause_key for g in groups] == ["change:e1", "change:e2", "change:e1", "change:e1", None, None]


def test_scopes_overlap_when_a_record_can_be_in_both():
    p = Slice.parse
    assert scopes_overlap([p("region=east")], [p("region=east&category=grocery")])
    assert scopes_overlap([p("region=east")], [p("category=grocery")])  # east grocery orders are in both
    assert not scopes_overlap([p("region=east")], [p("region=west")])
    assert scopes_overlap([], [p("region=west")])  # everything


def test_figures_are_measured_in_the_incident_scope_with_severity_from_standard_errors(two_causes):
    result, out = two_causes
    doc = json.loads((out / "incidents.json").read_text())
    for entry in doc["incidents"]:
        for s in entry["symptoms"]:
            # before → after in the incident's own scope: the injected +0.8 in g0 or g2 (a quarter of the traffic)
            assert s["measured_in"] == entry["measured_in"]
            assert s["change_interval"]["low"] <= s["change"] <= s["change_interval"]["high"]
            assert s["severity"] == severity_label(s["standard_errors"])
        ordered = [s["standard_errors"] for s in entry["symptoms"]]
        assert ordered == sorted(ordered, reverse=True)  # the most affected (in standard errors) first
    shared = next(e for e in doc["incidents"] if e["cause_key"] == "change:threshold_raise")
    if shared["measured_in"] == ["grp=g0"]:
        assert all(abs(s["change"] - 0.8) < 0.15 for s in shared["symptoms"])


def test_incidents_measured_in_one_scan_equal_each_measured_alone(two_causes):
    """A group's incidents share one scan (a bit mask per incident's window and onset); each must get the
    figures a scan of its own gives, also for windows and onsets that differ (the other cause's incident)."""
    result, out = two_causes
    ow = open_workspace(out.parent / "ws" / "workspace.yaml")
    members = [i for lead in result.incidents for i in lead.all_symptoms]
    assert len({(i.regression.start, i.onset) for i in members}) > 1
    scope = next(i for i in result.incidents if i.cause_key == "change:threshold_raise").slices
    together = scope_changes(ow, members, scope)
    for incident, measured in zip(members, together, strict=True):
        alone = scope_changes(ow, [incident], scope)[0]
        assert (measured.onset, measured.volume) == (alone.onset, alone.volume)
        for name in ("before", "after", "change", "standard_errors", "impact_per_day"):
            assert getattr(measured, name) == pytest.approx(getattr(alone, name), rel=1e-12), name


def test_every_number_in_the_prose_is_a_field_value(two_causes):
    result, out = two_causes
    doc = json.loads((out / "incidents.json").read_text())
    report = (out / "report.md").read_text()
    ws = load_workspace(out.parent / "ws" / "workspace.yaml")
    for entry in doc["incidents"]:
        for s in entry["symptoms"]:
            st = units.style(ws, ws.metric(s["metric"]))
            ci = s["change_interval"]
            row = (f"| {s['metric']} | {units.value(st, s['baseline'])} → {units.value(st, s['current'])} | "
                   f"{units.change(st, s['change'])} | {units.span(st, ci['low'], ci['high'])} | "
                   f"{s['standard_errors']} | {s['severity']} |")
            assert row in report
        top = entry["causes"][0]
        for name, ev in top["evidence"].items():
            if ev["rule"]:
                assert ev["rule"] in report  # each test's rule, with the numbers it decided on
        for r in entry["rejected"]:
            assert f"| {r['candidate']} | {r['kind']} | {r['confidence']:.1%} | {r['ruled_out_by']} | {r['reason']} |" in report


def test_placebo_results_are_in_the_metric_units(two_causes):
    result, _ = two_causes
    top = next(i for i in result.incidents if i.cause_key == "change:threshold_raise").causes[0]
    did = top.evidence["did"]
    for name in ("placebo_time", "placebo_scope"):
        placebo = top.evidence[name]
        if not placebo.detail.testable:
            continue
        assert placebo.effect == pytest.approx(did.effect)  # the real effect, not its z
        assert placebo.interval.low == min(placebo.detail.placebo_effects)
        assert placebo.detail.real_z == pytest.approx(did.detail.z, abs=1e-3)


@pytest.mark.parametrize("onset, change, words", [
    (datetime(2026, 1, 15, 12), datetime(2026, 1, 15, 12), "in the change's own hour"),
    (datetime(2026, 1, 15, 12), datetime(2026, 1, 15, 12, 40), "in the change's own hour"),
    (datetime(2026, 1, 15, 9), datetime(2026, 1, 15, 12), "3 h before the change"),
    (datetime(2026, 1, 15, 15), datetime(2026, 1, 15, 12), "3 h after the change"),
    (datetime(2026, 1, 15, 12), datetime(2026, 1, 15, 11, 30), "less than 1 h after the change"),
    (datetime(2026, 1, 15), datetime(2026, 1, 15, 17), "in the change's own day"),
])
def test_the_onset_is_stated_against_the_change_time(onset, change, words):
    bucket = timedelta(days=1) if words.endswith("own day") else timedelta(hours=1)
    assert words in onset_words(onset, change, bucket)


def load_workspace_text(text: str, folder) -> object:
    (folder / "workspace.yaml").write_text(text)
    return load_workspace(folder / "workspace.yaml")


def test_units_come_from_the_metric_definition(tmp_path):
    ws = load_workspace_text("""
name: u
records: {path: r, timestamp: ts, dimensions: [d]}
metrics:
  - {name: late, type: rate, expr: "x > 1", good: down}
  - {name: refund, type: ratio, numerator: "x", denominator: "1", good: down, currency: EUR}
  - {name: minutes, type: mean, expr: "x", good: down, unit: min}
  - {name: score, type: composite, weights: {late: 1.0}}
""", tmp_path)
    style = {m.name: units.style(ws, m) for m in ws.metrics}
    assert units.change(style["late"], -0.0312) == "-3.1 pp" and units.value(style["late"], 0.903) == "90.3%"
    assert units.change(style["score"], 0.041) == "+4.1 pts"
    assert units.value(style["refund"], 1.4) == "1.40 EUR" and units.per_day(style["refund"], 2664) == "+2,664 EUR/day"
    assert units.change(style["minutes"], 2.5) == "+2.50 min"
    assert units.scope_words((Slice.parse("basket_bucket=2-3&category=restaurant"),)) == \
        "basket_bucket 2-3 and category restaurant"
    assert units.scope_words((Slice.parse("region=east"), Slice.parse("region=west"))) == "region east and west"


@pytest.mark.parametrize("entry, message", [
    ('{name: r, type: rate, expr: "x > 1", unit: min}', "takes no unit or currency"),
    ('{name: m, type: mean, expr: "x", currency: euro}', "String should match pattern"),
    ('{name: m, type: mean, expr: "x", currency: USD, unit: min}', "not a 'unit' too"),
])
def test_bad_units_are_refused(entry, message, tmp_path):
    with pytest.raises(WorkspaceError, match=message):
        load_workspace_text(f"name: u\nrecords: {{path: r, timestamp: ts, dimensions: [d]}}\nmetrics:\n  - {entry}\n",
                            tmp_path)


def test_severity_follows_standard_errors_not_relative_change():
    # a small relative change measured precisely outranks a large one measured loosely
    precise = _incident("cx_score", None, "*", 10, 0.0)
    loose = _incident("support_rate", None, "*", 10, 0.0)
    precise = replace(precise, regression=replace(precise.regression, change=-0.045, relative_change=-0.048,
                                                  change_interval=Interval(-0.047, -0.043)))
    loose = replace(loose, regression=replace(loose.regression, change=0.0096, relative_change=0.208,
                                              change_interval=Interval(0.0001, 0.0191)))
    assert severity(precise) > severity(loose)
    assert severity_label(severity(precise)) == "critical" and severity_label(severity(loose)) == "low"


def test_the_engines_values_round_trip_through_incidents_json(two_causes):
    """incidents.json is the engine's values: every entry reads back into its model and writes the same JSON,
    and the causes, candidates ruled out, confirmation and regression read back are the engine's own."""
    result, out = two_causes
    doc = json.loads((out / "incidents.json").read_text())
    by_id = {i.regression.id: i for i in result.incidents}
    wire = TypeAdapter(tuple[Cause, ...])
    wire_of = TypeAdapter(ConfirmationEvidence | None).dump_json  # NaN (not computed) is null on both sides
    for entry in doc["incidents"]:
        read = IncidentReport.model_validate(entry)
        assert read.model_dump(mode="json") == entry
        engine = by_id[entry["id"]]
        assert wire.dump_json(read.causes) == wire.dump_json(engine.causes)
        assert read.rejected == engine.rejected and read.causes[0].evidence.keys() == engine.causes[0].evidence.keys()
        assert read.regression is not None and read.regression.id == engine.regression.id
        assert read.regression.slices == engine.regression.slices
        assert wire_of(read.confirmation) == wire_of(engine.confirmation)
