"""`PathGuard`: a guarded open refuses, before opening, every workspace file outside the roots or forbidden."""

from __future__ import annotations

import os

import pytest
import yaml

from data.errors import WorkspaceError
from data.paths import PathGuard
from data.sources import open_workspace
from tests.conftest import tiny_records, write_workspace


@pytest.fixture
def outside(tmp_path_factory):
    return tmp_path_factory.mktemp("outside")


def test_guarded_workspace_inside_the_roots_opens(tiny_workspace):
    ow = open_workspace(tiny_workspace, guard=PathGuard.of([tiny_workspace.parent]))
    assert ow.con.execute("SELECT count(*) FROM records").fetchone()[0] == 600


def test_a_record_file_linked_from_outside_is_refused(tiny_workspace, outside):
    tiny_records().to_parquet(outside / "more.parquet", index=False)
    (tiny_workspace.parent / "orders" / "part-1.parquet").symlink_to(outside / "more.parquet")
    with pytest.raises(WorkspaceError, match=r"records.path: 'part-1.parquet' \(in 'orders'\) is outside"):
        open_workspace(tiny_workspace, guard=PathGuard.of([tiny_workspace.parent]))
    assert open_workspace(tiny_workspace).con.execute("SELECT count(*) FROM records").fetchone()[0] == 1200


def test_a_change_log_outside_is_refused(tiny_workspace, outside):
    (outside / "changes.csv").write_text((tiny_workspace.parent / "changes.csv").read_text())
    spec = yaml.safe_load(tiny_workspace.read_text())
    spec["changes"]["path"] = str(outside / "changes.csv")
    tiny_workspace.write_text(yaml.safe_dump(spec))
    with pytest.raises(WorkspaceError, match="changes.path: .* is outside the folders"):
        open_workspace(tiny_workspace, guard=PathGuard.of([tiny_workspace.parent]))


def test_a_forbidden_file_is_refused_by_path_symlink_and_hard_link(tmp_path):
    ws = write_workspace(tmp_path / "ws")
    secret = tmp_path / "server.db"
    secret.write_bytes(b"SQLite format 3\x00")
    guard = PathGuard.of([tmp_path], [secret])
    (tmp_path / "link.db").symlink_to(secret)
    os.link(secret, tmp_path / "hard.db")
    for path in (secret, tmp_path / "link.db", tmp_path / "hard.db", tmp_path / "ws" / ".." / "server.db"):
        with pytest.raises(WorkspaceError, match="the server's own database"):
            open_workspace(path, guard=guard)
    assert open_workspace(ws, guard=guard).workspace.name == "tiny"
