"""Actions proposed from the recommendations stage's output: one per (action, cause, scope)."""

from backend.actors import Actor
from backend.crud import actions, incidents, workspaces
from tests.backend.conftest import fixture_incidents

ME = Actor("tester", "engineer")


def _rec(action_id: str, scope: list[str], event: str) -> dict:
    """The fixture's first recommendation, for another action, scope and change event."""
    rec = fixture_incidents()[0]["recommendations"][0]
    return {**rec, "action": {**rec["action"], "id": action_id}, "title": f"Roll back {event} in {', '.join(scope)}",
            "change_event": event, "scope": scope}


def test_recommendations_of_one_action_in_two_scopes_are_two_actions(sessions, workspace_path):
    item = fixture_incidents()[0]
    item["recommendations"] = [_rec("rollback_change", ["region=west"], "policy_a"),
                               _rec("rollback_change", ["region=east"], "policy_a"),
                               _rec("rollback_change", ["region=east"], "policy_b")]
    with sessions.begin() as s:
        w = workspaces.register(s, workspace_path, ME)
        inc = incidents.upsert(s, w, [item], ME).created[0]
        proposed = actions.propose_all(s, inc, ME)
        assert len(proposed) == 3
        assert len({a.key for a in proposed}) == 3
        assert proposed[0].key == "rollback_change:policy_a:region=west"
        assert proposed[0].title == "Roll back policy_a in region=west"
        assert actions.propose_all(s, inc, ME) == []
