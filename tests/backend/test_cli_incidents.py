"""`cxw incidents list|show`: the stored incidents, the same JSON as the API's, a table otherwise."""

from __future__ import annotations

import json

from backend.cli import main
from tests.backend.conftest import fixture_incidents


def test_list_and_show_read_the_stored_incidents(client, auth, incident_ids, settings, monkeypatch, capsys):
    monkeypatch.setenv("CXW_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("CXW_DATA_DIR", str(settings.data_dir))
    capsys.readouterr()
    assert main(["incidents", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == client.get("/api/incidents", headers=auth("engineer")).json()
    assert listed["count"] == len(fixture_incidents()) == len(incident_ids)

    assert main(["incidents", "list", "--metric", fixture_incidents()[0]["metric"]]) == 0
    table = capsys.readouterr().out
    assert f"of {sum(i['metric'] == fixture_incidents()[0]['metric'] for i in fixture_incidents())} incident(s)" in table

    first = incident_ids[0]
    assert main(["incidents", "show", str(first), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == client.get(f"/api/incidents/{first}", headers=auth("engineer")).json()
    assert main(["incidents", "show", str(first)]) == 0
    text = capsys.readouterr().out
    assert f"incident {first}" in text and shown["metric"] in text and "causes" in text

    assert main(["incidents", "show", "999999"]) == 2
    assert capsys.readouterr().err.strip() == "error: incident 999999 not found"
