"""Webhook messages for new incidents and their delivery from the outbox.

Slack-compatible hooks get ``{"text": …}``; others get JSON ``{"event", "workspace", "incident", "url"}``.
Each message carries ``Idempotency-Key: cxw-outbox-<id>``: delivery is at-least-once (a sender that dies
between the POST and recording it sends again after the claim expires), so a receiver can drop repeats.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy.orm import Session, sessionmaker

from backend.actors import Actor
from backend.crud import audit, outbox
from backend.models import OutboxMessage, utcnow
from backend.settings import Settings

SLACK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")
OUTBOX_ACTOR = Actor("outbox", "job")


def message_format(url: str, requested: str = "auto") -> str:
    """``slack`` or ``json`` for a URL: as requested, or guessed from Slack's hook host."""
    if requested in ("slack", "json"):
        return requested
    host = httpx.URL(url).host
    return "slack" if host in SLACK_HOSTS or "/slack" in url else "json"


def check_url(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except Exception:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        from backend.errors import Invalid

        raise Invalid(f"webhook URL {url!r} is not an http(s) URL")
    return url


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1%}"


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4g}"


def build_body(fmt: str, incident: dict, workspace: dict, link: str | None) -> dict:
    """The message for a new incident, one per cause (``incident`` is its public dict, JSON-ready)."""
    if fmt == "json":
        return {"event": "incident.new", "workspace": workspace, "incident": incident, "url": link}
    cause = incident.get("top_cause")
    conf = incident.get("top_confidence")
    cause_text = f" Likely cause: {cause}" + (f" ({conf:.0%} confidence)." if conf is not None else ".") if cause else ""
    others = [m for m in incident.get("symptom_metrics") or [] if m != incident["metric"]]
    also = f" (same cause: {', '.join(others)} moved too)" if others else ""
    text = (f"[{incident['severity'].upper()}] {workspace['name']}: {incident['metric']} went {incident['direction']} "
            f"{_pct(incident.get('relative_change'))}{also} in {incident.get('scope') or incident['slice']} "
            f"({incident['start']} to {incident['end']}): {_num(incident.get('baseline'))} -> "
            f"{_num(incident.get('current'))}.{cause_text}" + (f" {link}" if link else ""))
    return {"text": text}


@dataclass(frozen=True)
class DeliveryReport:
    """A delivery pass: messages delivered, attempts that failed (retried later or dead), messages still pending."""

    delivered: int
    failed: int
    pending: int


def _send(client: httpx.Client, msg_id: int, url: str, body: dict) -> str | None:
    """POST once; None on success (2xx), else the error text."""
    try:
        response = client.post(url, json=body, headers={"Idempotency-Key": f"cxw-outbox-{msg_id}",
                                                        "User-Agent": "cx-workbench"})
    except httpx.HTTPError as err:
        return f"{type(err).__name__}: {err}"
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}: {response.text[:200]}"


def deliver_due(sessions: sessionmaker[Session], settings: Settings, *, budget_seconds: float | None = None,
                client: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep) -> DeliveryReport:
    """Send every due message; retry failures with exponential backoff for up to ``budget_seconds``.

    What is still undelivered stays pending in the outbox for the next run or scheduler tick.
    """
    budget = settings.webhook_retry_budget_seconds if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    delivered = failed = 0
    own_client = client is None
    client = client or httpx.Client(timeout=settings.webhook_timeout_seconds)
    try:
        while True:
            with sessions() as session:
                ids = outbox.due_ids(session, utcnow())
            for msg_id in ids:
                with sessions.begin() as session:
                    if not outbox.claim(session, msg_id, utcnow()):
                        continue
                with sessions() as session:
                    msg = session.get(OutboxMessage, msg_id)
                    url, body = msg.url, msg.body
                error = _send(client, msg_id, url, body)
                with sessions.begin() as session:
                    msg = session.get(OutboxMessage, msg_id)
                    if error is None:
                        outbox.mark_delivered(session, msg, utcnow())
                        delivered += 1
                    else:
                        outbox.mark_failed(session, msg, utcnow(), error, settings.webhook_backoff_seconds,
                                           settings.webhook_backoff_max_seconds, settings.webhook_max_attempts)
                        failed += 1
                    if msg.proposal_id is not None:  # a signal action's every attempt is in the audit trail
                        audit.record(session, OUTBOX_ACTOR, "signal_proposal.attempt", "signal_proposal",
                                     msg.proposal_id, after={"outbox_id": msg.id, "status": msg.status,
                                                             "attempts": msg.attempts, "error": error})
            with sessions() as session:
                due = outbox.next_due(session)
            if due is None:
                break
            wait = max((due - utcnow()).total_seconds(), 0.0)
            if time.monotonic() + wait > deadline:
                break
            sleep(wait)
        with sessions() as session:
            pending = outbox.pending_count(session)
    finally:
        if own_client:
            client.close()
    return DeliveryReport(delivered, failed, pending)
