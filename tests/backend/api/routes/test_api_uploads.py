"""Uploads: valid CSV and Parquet workspaces register; malformed, empty, oversized and wrong-type files are
refused with a 4xx naming the file, and nothing is stored (no row, no folder)."""

import io

import pytest
import yaml

from backend.models import Workspace
from tests.conftest import TINY_METRICS, tiny_records

SPEC = {
    "name": "uploaded",
    "records": {"path": "ignored.csv", "timestamp": "created_at", "grain": "hour",
                "dimensions": ["region", "store", "channel"]},
    "metrics": TINY_METRICS,
}


def spec_bytes(**changes) -> bytes:
    return yaml.safe_dump({**SPEC, **changes}).encode()


def csv_bytes(n: int = 200) -> bytes:
    return tiny_records(n).to_csv(index=False).encode()


def parquet_bytes(n: int = 200) -> bytes:
    buf = io.BytesIO()
    tiny_records(n).to_parquet(buf, index=False)
    return buf.getvalue()


def upload(client, headers, records: tuple[str, bytes], spec: bytes | None = None, changes=None, **form):
    files = {"spec": ("workspace.yaml", spec if spec is not None else spec_bytes()), "records": records}
    if changes is not None:
        files["changes"] = changes
    return client.post("/api/workspaces/upload", files=files, data=form, headers=headers)


def nothing_stored(sessions, settings):
    with sessions() as s:
        assert s.query(Workspace).count() == 0
    uploads = settings.data_dir / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


@pytest.mark.parametrize("records", [("orders.csv", csv_bytes()), ("orders.parquet", parquet_bytes())],
                         ids=["csv", "parquet"])
def test_valid_upload_registers_a_workspace(client, auth, records, settings):
    changes = ("changes.csv", b"ts,name,kind,scope,description\n2026-01-02T10:00:00,p,policy,region=north,x\n")
    r = upload(client, auth("engineer"), records, changes=changes, name="Uploaded CX")
    assert r.status_code == 201, r.text
    ws = r.json()
    assert ws["source"] == "upload" and ws["name"] == "Uploaded CX"
    assert ws["path"].startswith(str((settings.data_dir / "uploads").resolve()))
    changes_page = client.get(f"/api/workspaces/{ws['id']}/changes", headers=auth("pm")).json()
    assert changes_page["count"] == 1


@pytest.mark.parametrize("case, records, spec, status, words", [
    ("empty records", ("orders.csv", b""), None, 422, "orders.csv: the file is empty"),
    ("header only", ("orders.csv", b"created_at,region,store,channel\n"), None, 422, "no records"),
    ("missing column", ("orders.csv", b"created_at,region,store\n2026-01-01T00:00:00,a,b\n"), None, 422, "channel"),
    ("bad timestamp", ("orders.csv", csv_bytes().replace(b"2026-01-01", b"yesterday!", 1)), None, 422,
     "not a timestamp"),
    ("wrong type", ("orders.xlsx", b"PK\x03\x04 a zip"), None, 415, "unsupported file type"),
    ("binary as csv", ("orders.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00"), None, 415, "not a text CSV"),
    ("not parquet", ("orders.parquet", b"this is not parquet at all"), None, 422, "not a Parquet file"),
    ("empty spec", ("orders.csv", csv_bytes()), b"", 422, "workspace.yaml: the file is empty"),
    ("bad yaml", ("orders.csv", csv_bytes()), b"name: [unclosed", 422, "not a YAML"),
    ("bad metric", ("orders.csv", csv_bytes()),
     spec_bytes(metrics=[{"name": "x", "type": "rate", "expr": "no_such_col > 1"}]), 422,
     "metrics.x.expr: 'no_such_col' is not a column of the records"),
    ("changes missing", ("orders.csv", csv_bytes()), spec_bytes(changes={"path": "c.csv"}), 422,
     "no changes file was uploaded"),
])
def test_bad_uploads_are_refused_and_nothing_is_stored(client, auth, sessions, settings, case, records, spec,
                                                      status, words):
    r = upload(client, auth("engineer"), records, spec=spec)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]
    assert str(settings.data_dir) not in r.json()["detail"]  # names the uploaded file, not our folders
    nothing_stored(sessions, settings)


def test_oversized_upload_is_413(client, auth, sessions, settings, app):
    app.state.settings = settings.model_copy(update={"upload_max_bytes": 10_000})
    r = upload(client, auth("engineer"), ("orders.csv", csv_bytes(2000)))
    assert r.status_code == 413, r.text
    assert "larger than the limit" in r.json()["detail"]
    nothing_stored(sessions, settings)


def test_body_limit_middleware_refuses_before_parsing(client, auth, sessions, settings):
    from backend.api.main import create_app
    from fastapi.testclient import TestClient

    small = create_app(settings.model_copy(update={"upload_max_bytes": 1000}))
    with TestClient(small) as c:
        r = upload(c, auth("engineer"), ("orders.csv", csv_bytes(5000)))
    small.state.engine.dispose()
    assert r.status_code == 413
    nothing_stored(sessions, settings)


def test_upload_needs_both_files(client, auth):
    r = client.post("/api/workspaces/upload", files={"spec": ("w.yaml", spec_bytes())}, headers=auth("engineer"))
    assert r.status_code == 422
