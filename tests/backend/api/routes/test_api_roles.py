"""The role × endpoint matrix: every operation in the OpenAPI spec, called without a token (401) and with
each role's token (403 outside the role, anything but 401/403 inside it).

engineer: everything · pm: read-only (incidents, summaries, series, changes, plans, what-if tradeoffs,
reconciliations) · job: run detection, post incidents, metric signals and operational signals, deliver the outbox.
"""

import pytest

PUBLIC = "public"
ANY = {"engineer", "pm", "job"}
ENG = {"engineer"}
READ = {"engineer", "pm"}
JOB = {"engineer", "job"}

MATRIX = {
    ("GET", "/api/health"): PUBLIC,
    ("GET", "/api/me"): ANY,
    ("GET", "/api/workspaces"): READ,
    ("POST", "/api/workspaces"): ENG,
    ("POST", "/api/workspaces/upload"): ENG,
    ("GET", "/api/workspaces/{workspace_id}"): READ,
    ("PATCH", "/api/workspaces/{workspace_id}"): ENG,
    ("POST", "/api/workspaces/{workspace_id}/cube"): ENG,
    ("POST", "/api/workspaces/{workspace_id}/detect"): JOB,
    ("GET", "/api/workspaces/{workspace_id}/runs"): ENG,
    ("GET", "/api/workspaces/{workspace_id}/series"): READ,
    ("GET", "/api/workspaces/{workspace_id}/changes"): READ,
    ("POST", "/api/workspaces/{workspace_id}/incidents"): JOB,
    ("GET", "/api/runs"): ENG,
    ("GET", "/api/runs/{run_id}"): ENG,
    ("POST", "/api/runs/{run_id}/clear"): ENG,
    ("GET", "/api/incidents"): READ,
    ("GET", "/api/incidents/summary"): READ,
    ("GET", "/api/incidents/{incident_id}"): READ,
    ("PATCH", "/api/incidents/{incident_id}"): ENG,
    ("GET", "/api/incidents/{incident_id}/slices"): READ,
    ("GET", "/api/incidents/{incident_id}/feedback"): READ,
    ("POST", "/api/incidents/{incident_id}/feedback"): ENG,
    ("POST", "/api/incidents/{incident_id}/whatif"): READ,
    ("POST", "/api/incidents/{incident_id}/whatif/runs"): READ,
    ("GET", "/api/incidents/{incident_id}/whatif/runs/{run_id}"): READ,
    ("GET", "/api/incidents/{incident_id}/plan"): READ,
    ("GET", "/api/incidents/{incident_id}/plan/markdown"): READ,
    ("GET", "/api/incidents/{incident_id}/plan/pdf"): READ,
    ("GET", "/api/actions"): ENG,
    ("POST", "/api/incidents/{incident_id}/actions"): ENG,
    ("GET", "/api/actions/{action_id}"): ENG,
    ("POST", "/api/actions/{action_id}/approve"): ENG,
    ("POST", "/api/actions/{action_id}/reject"): ENG,
    ("GET", "/api/audit"): ENG,
    ("GET", "/api/audit/{entry_id}"): ENG,
    ("GET", "/api/tokens"): ENG,
    ("POST", "/api/tokens"): ENG,
    ("DELETE", "/api/tokens/{token_id}"): ENG,
    ("GET", "/api/outbox"): ENG,
    ("POST", "/api/outbox/deliver"): JOB,
    ("POST", "/api/metric-signals"): JOB,
    ("GET", "/api/metric-signals"): ENG,
    ("POST", "/api/signals"): JOB,
    ("GET", "/api/signals"): ENG,
    ("POST", "/api/signals/analysis"): ENG,
    ("GET", "/api/signals/analysis/latest"): READ,
    ("GET", "/api/signals/patterns/{pattern_id}"): READ,
    ("GET", "/api/signals/proposals"): READ,
    ("POST", "/api/signals/proposals/{proposal_id}/approve"): ENG,
    ("POST", "/api/signals/proposals/{proposal_id}/reject"): ENG,
    ("POST", "/api/signals/proposals/{proposal_id}/execute"): ENG,
    ("GET", "/api/reconciliations"): READ,
    ("POST", "/api/reconciliations"): ENG,
    ("POST", "/api/reconciliations/upload"): ENG,
    ("GET", "/api/reconciliations/{run_id}"): READ,
    ("GET", "/api/reconciliations/{run_id}/findings"): READ,
    ("GET", "/api/reconciliations/{run_id}/report/markdown"): READ,
    ("GET", "/api/reconciliations/{run_id}/report/pdf"): READ,
    ("GET", "/api/reconciliations/{run_id}/chart"): READ,
    ("GET", "/api/reconciliations/{run_id}/exports/{name}"): READ,
    ("POST", "/api/ask"): READ,
}

# Harmless requests: unknown ids (404 inside the role) and empty or invalid bodies (422 inside the role).
BODIES = {("PATCH", "/api/incidents/{incident_id}"): {"notes": "x"}}


def test_the_matrix_covers_every_operation(app):
    spec = app.openapi()
    operations = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert operations == set(MATRIX), "add new routes to MATRIX (and documents/api.md)"


def test_protected_operations_declare_bearer_security(app):
    spec = app.openapi()
    for (method, path), roles in MATRIX.items():
        declared = spec["paths"][path][method.lower()].get("security")
        assert bool(declared) == (roles != PUBLIC), (method, path)


def _url(path: str) -> str:
    return path.replace("{workspace_id}", "999999").replace("{incident_id}", "999999") \
        .replace("{action_id}", "999999").replace("/whatif/runs/{run_id}", "/whatif/runs/" + "0" * 32).replace("{run_id}", "999999").replace("{entry_id}", "999999") \
        .replace("{token_id}", "999999").replace("{proposal_id}", "999999").replace("{pattern_id}", "0123456789ab") \
        .replace("{name}", "lost.csv")


@pytest.mark.parametrize("who", ["nobody", "engineer", "pm", "job"])
@pytest.mark.parametrize("operation", sorted(MATRIX), ids=lambda op: f"{op[0]} {op[1]}")
def test_role_matrix(client, tokens, operation, who):
    method, path = operation
    allowed = MATRIX[operation]
    headers = {} if who == "nobody" else {"Authorization": f"Bearer {tokens[who]}"}
    kwargs = {"json": BODIES.get(operation, {})} if method in ("POST", "PATCH", "PUT") else {}
    params = {"metric": "on_time_rate"} if path.endswith("/series") else {}
    r = client.request(method, _url(path), headers=headers, params=params, **kwargs)
    if allowed == PUBLIC:
        assert r.status_code == 200
    elif who == "nobody":
        assert r.status_code == 401, r.text
    elif who in allowed:
        assert r.status_code not in (401, 403), r.text
    else:
        assert r.status_code == 403, r.text
        assert who in r.json()["detail"]
