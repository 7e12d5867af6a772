"""The built UI is served at / with index.html for client routes; the API keeps its own 404s."""

import pytest
from fastapi.testclient import TestClient

from backend.api.main import create_app


@pytest.fixture
def spa_client(settings, tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>cx workbench</html>")
    (dist / "assets" / "app.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("outside")
    app = create_app(settings.model_copy(update={"frontend_dist": dist}))
    with TestClient(app) as c:
        yield c
    app.state.engine.dispose()


def test_index_assets_and_client_routes(spa_client):
    assert "cx workbench" in spa_client.get("/").text
    assert spa_client.get("/assets/app.js").text == "console.log(1)"
    assert "cx workbench" in spa_client.get("/incidents/42").text  # client-side route
    assert spa_client.get("/api/health").json()["status"] == "ok"
    assert spa_client.get("/api/unknown").status_code == 404


def test_no_escape_from_dist(spa_client):
    r = spa_client.get("/../secret.txt")
    assert "outside" not in r.text
    r = spa_client.get("/%2e%2e/secret.txt")
    assert "outside" not in r.text


def test_without_a_build_the_root_explains(client):
    r = client.get("/")
    assert r.status_code == 404
    assert "not built" in r.json()["detail"]


def test_docs_are_served_without_a_cdn(spa_client):
    page = spa_client.get("/docs")
    assert page.status_code == 200
    assert "http" not in page.text.replace("http-equiv", "")  # every asset is local
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        assert asset in page.text
        r = spa_client.get(asset)
        assert r.status_code == 200 and len(r.content) > 10_000


def test_openapi_json_at_the_root_is_the_schema_not_the_ui(spa_client):
    r = spa_client.get("/openapi.json")
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["info"]["title"] == "CX Workbench"
