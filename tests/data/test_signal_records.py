"""Signal records: validation per type, clear errors naming file, line and field, duplicates dropped."""

from __future__ import annotations

import json

import pytest

from data.errors import UserError
from data.signals import read_records, read_signals, table_from_records
from data.synthetic.signals import simulate_migration

GOOD = [
    {"id": "t1", "type": "ticket", "ts": "2026-03-02T10:00:00Z", "merchant_id": "m1", "body": "Checkout broken"},
    {"id": "e1", "type": "api_error", "ts": "2026-03-02T10:00:00+02:00", "merchant_id": "m1", "status": 502,
     "code": "X", "method": "POST", "endpoint": "/checkout", "message": "boom"},
    {"id": "w1", "type": "webhook_failure", "ts": "2026-03-02T11:00:00", "merchant_id": "m2", "topic": "orders/paid",
     "api_version": "2023-01", "status": 410, "reason": "gone"},
    {"id": "s1", "type": "migration_state", "ts": "2026-03-02T12:00:00Z", "merchant_id": "m2", "stage": "post",
     "started": "2026-03-02T09:00:00Z", "finished": "2026-03-02T12:00:00Z"},
]


def _jsonl(tmp_path, rows, name="s.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_every_type_is_read_into_columns(tmp_path):
    table = read_signals([_jsonl(tmp_path, GOOD + GOOD[:1])])  # t1 twice: kept once
    assert list(table.events["id"]) == ["e1", "t1", "w1"]  # sorted by time, e1 is 08:00 UTC
    assert str(table.events["ts"].dt.tz) == "UTC"
    assert table.events.set_index("id").loc["t1", "text"] == "Checkout broken"
    assert table.migrations.iloc[0]["stage"] == "post"
    assert table.merchants == ["m1", "m2"]


@pytest.mark.parametrize("change, where", [
    ({"status": 700}, "line 2: field 'status'"),
    ({"type": "alert"}, "line 2: field 'type'"),
    ({"endpoint": "checkout"}, "line 2: field 'endpoint'"),
    ({"extra": 1}, "line 2: field 'extra'"),
    ({"id": "has space"}, "line 2: field 'id'"),
])
def test_a_bad_record_names_its_line_and_field(tmp_path, change, where):
    rows = [GOOD[0], {**GOOD[1], **change}]
    with pytest.raises(UserError, match=where):
        read_records(_jsonl(tmp_path, rows))


def test_migration_state_times_are_checked(tmp_path):
    bad = {**GOOD[3], "finished": "2026-03-02T08:00:00Z"}
    with pytest.raises(UserError, match="line 1: .*'finished' is before 'started'"):
        read_records(_jsonl(tmp_path, [bad]))
    with pytest.raises(UserError, match="stage post needs 'finished'"):
        read_records(_jsonl(tmp_path, [{k: v for k, v in GOOD[3].items() if k != "finished"}]))


def test_csv_and_broken_json(tmp_path):
    csv_path = tmp_path / "s.csv"
    csv_path.write_text("id,type,ts,merchant_id,body,status,code,endpoint\n"
                        "t1,ticket,2026-03-02T10:00:00Z,m1,hello,,,\n"
                        "e1,api_error,2026-03-02T10:00:00Z,m1,,500,E,/x\n")
    table = read_signals([csv_path])
    assert sorted(table.events["type"]) == ["api_error", "ticket"]
    csv_path.write_text("id,type,ts,merchant_id,body,status\nt1,ticket,2026-03-02T10:00:00Z,m1,hello,500\n")
    with pytest.raises(UserError, match="s.csv line 2: field 'status' does not belong to a ticket"):
        read_records(csv_path)
    broken = tmp_path / "b.jsonl"
    broken.write_text(json.dumps(GOOD[0]) + "\n{not json\n")
    with pytest.raises(UserError, match="b.jsonl line 2: not valid JSON"):
        read_records(broken)
    with pytest.raises(UserError, match="must be JSON lines"):
        read_records(tmp_path / "x.txt")


def test_simulation_is_deterministic_and_valid(tmp_path):
    a = simulate_migration(tmp_path / "a", merchants=30, days=6, seed=4)
    simulate_migration(tmp_path / "b", merchants=30, days=6, seed=4)
    assert (tmp_path / "a/signals.jsonl").read_bytes() == (tmp_path / "b/signals.jsonl").read_bytes()
    records = read_records(tmp_path / "a/signals.jsonl")
    assert len(records) == a.signals
    truth = json.loads((tmp_path / "a/truth.json").read_text())
    ids = {r.id for r in records}
    assert all(set(p["signal_ids"]) <= ids for p in truth["patterns"])
    assert len(table_from_records(records).migrations) == 30
    with pytest.raises(UserError, match="unknown pattern"):
        simulate_migration(tmp_path / "c", merchants=30, days=6, patterns=("nope",))
