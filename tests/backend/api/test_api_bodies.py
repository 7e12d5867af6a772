"""Request bodies: non-finite JSON numbers are a 422 on every route that takes a JSON body; bodies over the
limit are a 413 naming the configured limit, also when sent chunked; a gzip-compressed CSV counts with its
decompressed size and is not expanded past the limit."""

import gzip
import io
import json
from collections import defaultdict

import pytest
from fastapi.testclient import TestClient

from backend.api.main import create_app
from backend.models import Incident
from tests.backend.api.routes.test_api_uploads import csv_bytes, nothing_stored, spec_bytes, upload

NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e400", "-2.5E+999", "1" + "0" * 400 + ".0"]


@pytest.mark.parametrize("literal", NON_FINITE)
def test_non_finite_numbers_are_422_on_every_json_route(client, auth, app, incident_ids, literal):
    routes = []
    for path, ops in app.openapi()["paths"].items():
        for method, op in ops.items():
            if "application/json" in op.get("requestBody", {}).get("content", {}):
                ids = defaultdict(lambda: 1, incident_id=incident_ids[0])  # every other path id: 1
                routes.append((method.upper(), path.format_map(ids)))
    assert len(routes) >= 8, routes
    for method, path in routes:
        for body in (f'{{"value": {literal}}}', f'{{"a": [1, {{"b": {literal}}}]}}', literal):
            r = client.request(method, path, content=body, headers={**auth("engineer"),
                                                                    "content-type": "application/json"})
            assert r.status_code == 422, (method, path, body, r.status_code, r.text)
            assert "finite number" in r.json()["detail"], r.text


def test_non_finite_number_deep_in_an_incident_is_refused_and_nothing_stored(client, auth, workspace_id, sessions):
    from tests.backend.conftest import fixture_incidents

    doc = {"incidents": fixture_incidents()[:1]}
    doc["incidents"][0]["causes"][0]["evidence"]["did"]["detail"]["z"] = 1.5  # a test's own number
    body = json.dumps(doc).replace('"z": 1.5', '"z": Infinity')
    r = client.post(f"/api/workspaces/{workspace_id}/incidents", content=body,
                    headers={**auth("job"), "content-type": "application/json"})
    assert r.status_code == 422 and "Infinity is not a number JSON allows" in r.json()["detail"]
    with sessions() as s:
        assert s.query(Incident).count() == 0
    ok = client.post(f"/api/workspaces/{workspace_id}/incidents", content=body.replace("Infinity", "1e300"),
                     headers={**auth("job"), "content-type": "application/json"})
    assert ok.status_code == 201, ok.text


def test_the_words_inside_strings_are_fine(client, auth, incident_ids):
    r = client.patch(f"/api/incidents/{incident_ids[0]}", json={"notes": "NaN Infinity -Infinity 1e400"},
                     headers=auth("engineer"))
    assert r.status_code == 200 and r.json()["notes"] == "NaN Infinity -Infinity 1e400"


def _multipart(spec: bytes, records_name: str, records: bytes) -> tuple[bytes, str]:
    boundary = "cxwboundary"
    parts = []
    for field, name, data in (("spec", "workspace.yaml", spec), ("records", records_name, records)):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _chunks(data: bytes, size: int = 64 * 1024):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_chunked_bodies_over_the_limit_are_413_naming_the_limit(settings, auth, sessions, monkeypatch):
    monkeypatch.setattr("backend.api.main.JSON_BODY_LIMIT", 50_000)
    small = create_app(settings.model_copy(update={"upload_max_bytes": 1000}))
    body, content_type = _multipart(spec_bytes(), "orders.csv", csv_bytes(30_000))
    assert len(body) > 1000 + 1024 * 1024
    with TestClient(small) as c:
        r = c.post("/api/workspaces/upload", content=_chunks(body), headers={**auth("engineer"),
                                                                             "content-type": content_type})
        assert "content-length" not in {k.lower() for k in r.request.headers}
        assert r.status_code == 413, r.text
        assert r.json()["detail"] == "request body is larger than the limit of 1000 bytes"
        r = c.post("/api/workspaces/upload", content=body, headers={**auth("engineer"), "content-type": content_type})
        assert r.status_code == 413 and r.json()["detail"] == "request body is larger than the limit of 1000 bytes"
        big_json = json.dumps({"notes": "x" * 60_000}).encode()
        r = c.patch("/api/incidents/1", content=_chunks(big_json, 4096),
                    headers={**auth("engineer"), "content-type": "application/json"})
        assert r.status_code == 413 and r.json()["detail"] == "request body is larger than the limit of 48.8 KB"
    small.state.engine.dispose()
    nothing_stored(sessions, settings)


def _gzip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as fh:
        fh.write(data)
    return buf.getvalue()


def test_gzip_bomb_counts_decompressed_and_is_refused(client, auth, sessions, settings, app):
    limit = 2 * 1024 * 1024
    app.state.settings = settings.model_copy(update={"upload_max_bytes": limit})
    rows = csv_bytes(200)
    header, first = rows.split(b"\n", 2)[:2]
    bomb = _gzip(header + b"\n" + (first + b"\n") * 400_000)  # ~40 MB of CSV in a few hundred KB
    assert len(bomb) < limit / 4
    r = upload(client, auth("engineer"), ("orders.csv.gz", bomb))
    assert r.status_code == 413, r.text
    assert r.json()["detail"] == "orders.csv.gz: decompressed, the upload is larger than the limit of 2 MB"
    nothing_stored(sessions, settings)
    r = upload(client, auth("engineer"), ("orders.csv.gz", b"\x1f\x8b not really gzip"))
    assert r.status_code == 422 and "orders.csv.gz: not a valid gzip file" in r.json()["detail"]
    nothing_stored(sessions, settings)
    r = upload(client, auth("engineer"), ("orders.csv", rows), changes=("changes.csv.bz2", b"BZh9"))
    assert r.status_code == 415 and "upload the change log as .csv or .csv.gz" in r.json()["detail"]
    nothing_stored(sessions, settings)


def test_a_gzip_csv_under_the_limit_is_accepted(client, auth):
    r = upload(client, auth("engineer"), ("orders.csv.gz", _gzip(csv_bytes(500))))
    assert r.status_code == 201, r.text
