"""The hypothesis library is data: built-ins load, labels come from patterns, workspaces add their own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from data.errors import WorkspaceError
from rca.hypotheses import load_hypotheses

RCA = Path(__file__).resolve().parents[2] / "rca"


@pytest.fixture(scope="module")
def library():
    return load_hypotheses()


def test_builtins_and_generic_last(library):
    ids = library.ids
    for hid in ("supply", "merchant", "policy_change", "inventory", "model_regression", "migration"):
        assert hid in ids
    assert ids[-2:] == ("change_event", "driver_shift")


@pytest.mark.parametrize("kind, name, feature, expected", [
    ("policy", "batching_threshold_4", "batching_threshold", "policy_change"),
    ("model", "eta_model_v3", "eta_model", "model_regression"),
    ("migration", "platform_migration_west_wave_1", "platform", "migration"),
    ("inventory", "supplier_switch_grocery", "oos_rate", "inventory"),
    ("merchant", "menu_overhaul", "prep_minutes", "merchant"),
    (None, None, "courier_supply_ratio", "supply"),
    ("rollout", "3ds_rollout", None, "change_event"),  # an unknown kind: the generic change hypothesis
    ("deploy", "gateway_upgrade", "gateway_version", "change_event"),
    (None, None, "db_pool_utilization", "driver_shift"),  # an unknown driver: the generic driver hypothesis
])
def test_labels_come_from_patterns(library, kind, name, feature, expected):
    assert library.label(kind, name, feature).id == expected


def test_event_kind_wins_over_the_driver(library):
    # a policy change that moved courier supply is a policy change
    assert library.label("policy", "x", "courier_supply_ratio").id == "policy_change"


def test_workspace_adds_and_overrides_hypotheses(library):
    lib = load_hypotheses({"hypotheses": [
        {"id": "issuer_degradation", "description": "issuer slow", "features": ["issuer_*"]},
        {"id": "supply", "description": "overridden supply", "features": ["*staff*"]},
    ]})
    assert lib.ids[0] == "issuer_degradation"
    assert lib.label(None, None, "issuer_latency_ms").id == "issuer_degradation"
    assert lib.get("supply").description == "overridden supply"
    assert lib.label(None, None, "courier_supply_ratio").id == "driver_shift"  # the override replaced the patterns
    assert lib.label(None, None, "night_staffing").id == "supply"


@pytest.mark.parametrize("bad, message", [
    ({"hypotheses": {"id": "x"}}, "expected a list"),
    ({"hypotheses": [{"description": "no id", "features": ["a"]}]}, "needs an 'id'"),
    ({"hypotheses": [{"id": "x", "features": ["a"]}]}, "description: required"),
    ({"hypotheses": [{"id": "x", "description": "d"}]}, "needs at least one of"),
    ({"hypotheses": [{"id": "x", "description": "d", "features": ["a"], "colour": 1}]}, "colour: unknown key"),
    ({"hypotheses": [{"id": "x", "description": "d", "features": "a"}, {"id": "x", "description": "d", "features": ["b"]}]},
     "defined twice"),
])
def test_bad_workspace_hypotheses_name_the_key(bad, message):
    with pytest.raises(WorkspaceError, match=re.escape(message)):
        load_hypotheses(bad, source="ws.yaml")


def test_no_domain_names_in_the_engine_code():
    """The engine knows no column, metric or cause of any scenario: those live in YAML and workspaces."""
    words = ("courier", "batching", "prep_minutes", "oos_rate", "eta_model", "store_id", "region", "on_time",
             "delivery", "grocery", "merchant", "platform", "issuer", "tenant", "auth_rate")
    # The signal investigation's record contract (data/signals.py) has a merchant field by definition; its
    # stages name that field, not a scenario.
    allowed = {"hypotheses.yaml", "signal_stages.py", "signal_hypotheses.py"}
    offenders = []
    for path in RCA.rglob("*.py"):
        text = path.read_text().lower()
        for word in words:
            if word in text:
                offenders.append(f"{path.name}: {word}")
    assert not [o for o in offenders if o.split(":")[0] not in allowed], offenders
