"""The action catalogue: shipped YAML, workspace additions, validation naming the key, matching causes."""

from __future__ import annotations

import pytest
import yaml

from data.errors import WorkspaceError
from data.slices import parse_scope
from data.workspace import load_workspace
from rca.types import Cause
from recommendations.pipeline import fill, localized_scope, matching_actions
from recommendations.settings import builtin_actions, catalogue, load_settings
from tests.recommendations import sim
from tests.recommendations.conftest import batching_incident

HYPOTHESES = ("supply", "merchant", "policy_change", "inventory", "model_regression", "migration", "change_event",
              "driver_shift")


def _ws(tmp_path, recommendations):
    return load_workspace(sim.write(sim.simulate(0, orders=200), tmp_path, recommendations=recommendations))


def test_builtin_catalogue_covers_every_hypothesis():
    actions = builtin_actions()
    assert len({a.id for a in actions}) == len(actions)
    for h in HYPOTHESES:
        assert any(h in a.hypotheses for a in actions), h
    by_id = {a.id: a for a in actions}
    assert by_id["revert_policy_threshold"].lever == "revert_event"
    assert by_id["revert_policy_threshold"].interference  # batching: switchback
    assert by_id["courier_incentives"].cost == "courier_incentive_per_order"
    assert by_id["rollback_change"].generic and by_id["restore_driver"].generic
    assert "{event}" in by_id["rollback_change"].title and "{feature}" in by_id["restore_driver"].title


@pytest.mark.parametrize("hypothesis,event,feature,expected", [
    ("policy_change", "batching_threshold_4", "batching_threshold", {"revert_policy_threshold", "narrow_change"}),
    ("supply", None, "courier_supply_ratio", {"courier_incentives"}),
    ("merchant", "menu_overhaul", "prep_minutes", {"correct_prep_estimates"}),
    ("inventory", "supplier_switch", "oos_rate", {"restock_or_hide_oos"}),
    ("model_regression", "eta_model_v3", "eta_model", {"rollback_model"}),
    ("migration", "platform_wave_1", "platform", {"pause_migration"}),
    ("change_event", "release_9", None, {"rollback_change", "narrow_change"}),
    ("driver_shift", None, "prep_minutes", {"restore_driver"}),
    ("something_new", "release_9", None, {"rollback_change"}),
])
def test_actions_match_causes(hypothesis, event, feature, expected):
    cause = Cause(hypothesis, event, feature, (), 0.5, {}, "")
    assert {a.id for a in matching_actions(builtin_actions(), cause)} == expected


def test_remediation_tags_match_too():
    cause = Cause("custom", None, "courier_supply_ratio", (), 0.5, {}, "", ("boost_supply_incentives",))
    assert [a.id for a in matching_actions(builtin_actions(), cause)] == ["courier_incentives"]


def test_workspace_adds_and_replaces_actions(tmp_path):
    ws = _ws(tmp_path, {"unit_costs": {"surge": 0.5}, "actions": [
        {"id": "surge_fee", "title": "Add a surge fee in {scope}", "hypotheses": ["supply"], "lever": "none",
         "cost": "surge"},
        {"id": "rollback_change", "title": "Revert {event} in {scope} (our way)", "hypotheses": ["*"],
         "lever": "revert_event", "generic": True}]})
    actions = {a.id: a for a in catalogue(ws)}
    assert actions["surge_fee"].cost == "surge"
    assert actions["rollback_change"].title.endswith("(our way)")
    assert len(actions) == len(builtin_actions()) + 1


@pytest.mark.parametrize("section,where", [
    ({"actions": [{"id": "x", "title": "t", "lever": "set_feature", "feature": "nope", "value": 1}]},
     "recommendations.actions.x.feature"),
    ({"actions": [{"id": "x", "title": "t", "lever": "none", "cost": "missing"}]}, "recommendations.actions.x.cost"),
    ({"actions": [{"id": "x", "title": "t", "lever": "teleport"}]}, "recommendations.actions.x.lever"),
    ({"actions": [{"id": "x", "title": "Fix {thing}", "lever": "none"}]}, "recommendations.actions.x.title"),
    ({"actions": [{"id": "x", "title": "t", "lever": "scale_feature", "feature": "prep_minutes", "value": "a"}]},
     "recommendations.actions.x.value"),
    ({"unit_costs": {"courier_minutes_per_order": -1}}, "recommendations.unit_costs.courier_minutes_per_order"),
    ({"model": {"kind": "forest"}}, "recommendations.model.kind"),
    ({"experiment": {"units": {"store": "nope"}}}, "recommendations.experiment.units.store"),
    ({"colour": "blue"}, "recommendations.colour: unknown key"),
])
def test_bad_recommendations_section_names_the_key(tmp_path, section, where):
    ws = _ws(tmp_path, section)
    with pytest.raises(WorkspaceError) as err:
        load_settings(ws)
    assert where in str(err.value) and "workspace.yaml" in str(err.value)


def test_fill_and_localized_scope(sim_world):
    assert fill("Roll back {event} in {scope}", {"event": "e1", "scope": "region west"}) == "Roll back e1 in region west"
    assert fill("Revert {feature}", {"feature": None}) is None
    incident = batching_incident(sim_world)
    assert localized_scope(incident, parse_scope("region=east;region=west")) == ()  # covers the whole scope
    assert [s.key for s in localized_scope(incident, parse_scope("region=east;region=west;region=north"))] == \
        ["region=east", "region=west"]
