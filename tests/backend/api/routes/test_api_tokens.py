"""Tokens: issued with the secret shown once, stored hashed, listed without secrets, revocable."""

import pytest

from backend.crud.tokens import hash_token
from backend.models import ApiToken


def test_create_use_list_revoke(client, auth, sessions, settings):
    r = client.post("/api/tokens", json={"role": "pm", "name": "alice"}, headers=auth("engineer"))
    assert r.status_code == 201, r.text
    created = r.json()
    secret = created["token"]
    assert secret.startswith("cxw_") and len(secret) > 40 and created["prefix"] == secret[:10]
    with sessions() as s:
        row = s.get(ApiToken, created["id"])
        assert row.token_hash == hash_token(settings.secret_key, secret) and secret not in row.token_hash
    me = client.get("/api/me", headers={"Authorization": f"Bearer {secret}"}).json()
    assert me == {"name": "alice", "role": "pm", "token_id": created["id"], "permissions": ["read"]}
    listed = client.get("/api/tokens", headers=auth("engineer")).json()
    assert listed["count"] == 4 and all("token" not in t for t in listed["data"])
    revoked = client.delete(f"/api/tokens/{created['id']}", headers=auth("engineer"))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.get("/api/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert client.delete("/api/tokens/9999", headers=auth("engineer")).status_code == 404


def test_bad_role_or_name(client, auth):
    assert client.post("/api/tokens", json={"role": "admin", "name": "x"}, headers=auth("engineer")).status_code == 422
    assert client.post("/api/tokens", json={"role": "pm", "name": ""}, headers=auth("engineer")).status_code == 422


def test_a_token_hashed_under_another_secret_does_not_work(client, auth, app, settings, tokens):
    app.state.token_cache.clear()
    app.state.settings = settings.model_copy(update={"secret_key": "another-secret-value-123"})
    assert client.get("/api/me", headers=auth("pm")).status_code == 401


@pytest.mark.parametrize("name", ["nul\x00byte", "bidi\u202eoverride", "isolate\u2067x", "tab\tname"])
def test_token_names_with_control_or_bidi_characters_are_422(client, auth, name):
    r = client.post("/api/tokens", json={"role": "pm", "name": name}, headers=auth("engineer"))
    assert r.status_code == 422 and "control or invisible character" in r.json()["detail"], r.text
    listed = client.get("/api/tokens", headers=auth("engineer")).json()
    assert all(t["name"] != name for t in listed["data"])
