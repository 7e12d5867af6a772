"""Outbox CRUD: one message per (incident, URL, event), exclusive claims, exponential backoff, giving up."""

from datetime import timedelta

import pytest

from backend.actors import Actor
from backend.crud import incidents, outbox, workspaces
from backend.models import OutboxMessage, utcnow
from tests.backend.conftest import fixture_incidents

ME = Actor("tester", "engineer")


@pytest.fixture
def incident_id(sessions, workspace_path):
    with sessions.begin() as s:
        w = workspaces.register(s, workspace_path, ME)
        return incidents.upsert(s, w, fixture_incidents()[:1], ME).created[0].id


def test_enqueue_once(sessions, incident_id):
    with sessions.begin() as s:
        assert outbox.enqueue(s, incident_id, "http://127.0.0.1:1/a", "json", {"x": 1}) is not None
        assert outbox.enqueue(s, incident_id, "http://127.0.0.1:1/a", "json", {"x": 2}) is None
        assert outbox.enqueue(s, incident_id, "http://127.0.0.1:1/b", "slack", {"text": "t"}) is not None
    with sessions() as s:
        assert s.query(OutboxMessage).count() == 2


def test_claim_is_exclusive_and_expires(sessions, incident_id):
    with sessions.begin() as s:
        msg_id = outbox.enqueue(s, incident_id, "http://127.0.0.1:1/a", "json", {}).id
    now = utcnow()
    with sessions.begin() as s:
        assert outbox.claim(s, msg_id, now)
    with sessions.begin() as s:
        assert not outbox.claim(s, msg_id, now)  # another sender
        assert outbox.due_ids(s, now) == []
    later = now + timedelta(seconds=outbox.CLAIM_SECONDS + 1)
    with sessions.begin() as s:
        assert outbox.due_ids(s, later) == [msg_id]  # its sender died: due again
        assert outbox.claim(s, msg_id, later)


def test_backoff_doubles_then_gives_up(sessions, incident_id):
    with sessions.begin() as s:
        msg = outbox.enqueue(s, incident_id, "http://127.0.0.1:1/a", "json", {})
        now = utcnow()
        waits = []
        for _ in range(4):
            outbox.mark_failed(s, msg, now, "HTTP 503", backoff=1.0, backoff_max=5.0, max_attempts=5)
            waits.append((msg.next_attempt_at - now).total_seconds())
        assert waits == [1.0, 2.0, 4.0, 5.0] and msg.status == "pending"
        outbox.mark_failed(s, msg, now, "HTTP 503", backoff=1.0, backoff_max=5.0, max_attempts=5)
        assert msg.status == "dead" and msg.attempts == 5
