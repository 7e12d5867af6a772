"""The wire contract: OpenAPI describes every field of an incident, its plan and a what-if (no free-form
object anywhere under them), and the engine's values survive JSON unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from backend.analysis import Scanned
from backend.api.main import create_app
from backend.schemas.incident import IncidentDetail
from data.changes import ChangeEvent
from metrics.cube_stats import SeriesPoint, SliceChange
from recommendations.incidents_io import IncidentEntry
from recommendations.types import ExperimentPlan, Recommendation
from tests.backend.conftest import fixture_incidents

UI_FIXTURES = Path(__file__).parents[3] / "frontend" / "src" / "test"
TYPED_RESPONSES = [("get", "/api/incidents/{incident_id}"), ("get", "/api/incidents/{incident_id}/plan"),
                   ("post", "/api/incidents/{incident_id}/whatif"), ("patch", "/api/incidents/{incident_id}"),
                   ("get", "/api/incidents/{incident_id}/whatif/runs/{run_id}")]


@pytest.fixture(scope="module")
def spec(tmp_path_factory, monkeypatch_module) -> dict:
    monkeypatch_module.setenv("CXW_DATA_DIR", str(tmp_path_factory.mktemp("spec")))
    return create_app().openapi()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def free_form(node, schemas: dict, path: str, seen: frozenset = frozenset()) -> list[str]:
    """Where under ``node`` an object has no declared shape: no properties and additionalProperties absent,
    true or ``{}`` (a map whose values have a schema is typed), or a schema that is ``{}`` (anything)."""
    if not isinstance(node, dict):
        return []
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return [] if name in seen else free_form(schemas[name], schemas, name, seen | {name})
    if node == {}:
        return [path]
    found = []
    extra = node.get("additionalProperties")
    if node.get("type") == "object" or "properties" in node or extra is not None:
        if "properties" not in node and extra in (None, True, {}):
            found.append(path)
        if isinstance(extra, dict) and extra:
            found += free_form(extra, schemas, f"{path}{{*}}", seen)
    for key, value in node.get("properties", {}).items():
        found += free_form(value, schemas, f"{path}.{key}", seen)
    for key in ("items", "anyOf", "oneOf", "allOf", "prefixItems"):
        value = node.get(key)
        for i, item in enumerate(value if isinstance(value, list) else [] if value is None else [value]):
            found += free_form(item, schemas, f"{path}[{i}]", seen)
    return found


@pytest.mark.parametrize("method,route", TYPED_RESPONSES)
def test_openapi_declares_every_field_of_incidents_plans_and_whatifs(spec, method, route):
    response = spec["paths"][route][method]["responses"]["200"]["content"]["application/json"]["schema"]
    assert "$ref" in response, f"{method} {route} has no declared response model"
    assert free_form(response, spec["components"]["schemas"], route) == []


ENGINE_VALUES = [("SliceChildren", "data", SliceChange), ("Series", "points", SeriesPoint),
                 ("Page_ChangeEvent_", "data", ChangeEvent), ("RunPublic", "scanned", Scanned)]


@pytest.mark.parametrize("model,field,engine", ENGINE_VALUES)
def test_responses_serve_the_engines_values_as_they_are(spec, model, field, engine):
    """A drill-down's children, a series' points, the change log and a run's scanned window are the values
    their owner computes: OpenAPI describes each with that type's own schema (no copy in the service's)."""
    schemas = spec["components"]["schemas"]
    assert f'"#/components/schemas/{engine.__name__}"' in json.dumps(schemas[model]["properties"][field])
    assert schemas[engine.__name__] == TypeAdapter(engine).json_schema(mode="serialization")


def test_the_walk_finds_a_free_form_object():
    schemas = {"A": {"type": "object", "properties": {"x": {"type": "object"}, "y": {"$ref": "#/components/schemas/B"},
                                                        "z": {"additionalProperties": {"type": "number"}}}},
               "B": {"type": "array", "items": {}}}
    assert free_form({"$ref": "#/components/schemas/A"}, schemas, "A") == ["A.x", "B[0]"]


def test_an_incident_round_trips_through_json_unchanged():
    """Engine values → JSON → the same values: the fixture's incident (evidence of three tests, two
    recommendations with impacts and tradeoffs, an experiment plan) read, written and read again."""
    entry = IncidentEntry.model_validate(fixture_incidents()[0])
    again = IncidentEntry.model_validate_json(entry.model_dump_json())
    assert again == entry
    assert again.model_dump(mode="json") == fixture_incidents()[0]
    rec = entry.recommendations[1]
    wire = TypeAdapter(Recommendation)
    assert wire.validate_json(wire.dump_json(rec)) == rec and rec.impact.changes[0].describe() == "supply × 1.1"
    plan = TypeAdapter(ExperimentPlan)
    assert entry.experiment_plan is not None
    assert plan.validate_json(plan.dump_json(entry.experiment_plan)) == entry.experiment_plan


def test_the_detail_is_the_entry_with_the_service_fields():
    """Every field of an incidents.json entry is a field of the detail, under the same name and type (the
    entry's own id is the detail's external_id)."""
    entry, detail = IncidentEntry.model_fields, IncidentDetail.model_fields
    assert set(entry) <= set(detail)
    assert {name for name in entry if name != "id" and detail[name].annotation != entry[name].annotation} == {
        "severity", "relative_change"}  # the service always grades an incident and stores its relative change


@pytest.mark.parametrize("fixture,key", [("incident-detail.json", None), ("analysis-served.json", "owner")])
def test_the_uis_incident_fixtures_are_api_responses(fixture, key):
    """The UI's unit tests read incidents the API could serve: each validates as `IncidentDetail` and is
    written back unchanged."""
    doc = json.loads((UI_FIXTURES / fixture).read_text())
    served = {k: v for k, v in (doc[key] if key else doc).items() if k != "_about"}
    assert IncidentDetail.model_validate(served).model_dump(mode="json") == served
