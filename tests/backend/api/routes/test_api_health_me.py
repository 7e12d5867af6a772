"""/api/health needs no token; /api/me tells each role; bad, missing and revoked tokens are 401."""

import pytest


def test_health_is_public_and_names_the_database(client, settings):
    r = client.get("/api/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"] in ("sqlite", "postgresql")
    assert body["database"] == ("sqlite" if settings.resolved_database_url.startswith("sqlite") else "postgresql")


@pytest.mark.parametrize("role", ["engineer", "pm", "job"])
def test_me_reports_the_tokens_role(client, auth, role):
    r = client.get("/api/me", headers=auth(role))
    assert r.status_code == 200
    assert r.json()["role"] == role
    assert r.json()["name"] == f"{role}-token"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer cxw_not-a-real-token"},
                                     {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}])
def test_missing_or_invalid_token_is_401(client, tokens, headers):
    r = client.get("/api/me", headers=headers)
    assert r.status_code == 401
    assert r.headers.get("www-authenticate") == "Bearer"


def test_openapi_and_docs_are_served(client):
    spec = client.get("/api/openapi.json").json()
    assert spec["info"]["title"] == "CX Workbench"
    assert all(path.startswith("/api/") for path in spec["paths"])
    assert client.get("/docs").status_code == 200


def test_unknown_api_path_is_json_404(client):
    r = client.get("/api/nope")
    assert r.status_code == 404
    assert r.json()["detail"] == "Not Found"
