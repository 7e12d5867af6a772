"""The tools an approved signal proposal runs, rendered as messages.

- ``internal_ticket``: a ticket for the owning team (JSON; posted when ``CXW_SIGNAL_TOOL_URLS`` names a
  URL for it, else kept on the proposal);
- ``doc_draft``: a Markdown draft of a migration-guide update, kept on the proposal (nothing leaves);
- ``escalation``: a Slack-compatible ``{"text": …}`` or a JSON message to the escalation hook;
- ``webhook_post``: a JSON request to the service the action names.

Messages that leave the system go through the webhook outbox (`backend.crud.signals.execute`).
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.errors import Conflict
from backend.models import SignalProposal
from backend.webhooks import check_url, message_format

NEEDS_URL = ("escalation", "webhook_post")


@dataclass(frozen=True)
class ToolMessage:
    tool: str
    url: str | None  # None: kept on the proposal (a local tool), or an outbound tool with no URL yet
    format: str
    body: dict
    note: str | None = None

    def preview(self) -> dict:
        out = {"tool": self.tool, "url": self.url, "format": self.format, "body": self.body}
        return out | ({"note": self.note} if self.note else {})


def _summary(p: SignalProposal) -> str:
    return (f"{p.action} for pattern {p.pattern_label} ({p.merchants} merchants, severity {p.severity}): "
            f"likely cause {p.hypothesis} ({p.confidence:.0%} confidence), risk {p.risk:.2f}")


def render(p: SignalProposal, tool_urls: dict[str, str], dry_run: bool = False) -> ToolMessage:
    """The message ``p``'s tool would send (or keep). A tool that must post and has no URL renders for a dry
    run (JSON, with a note saying so) and is a 409 for a real run."""
    url = tool_urls.get(p.tool)
    missing = p.tool in NEEDS_URL and not url
    if missing and not dry_run:
        raise Conflict(f"tool {p.tool} has no URL: set it in CXW_SIGNAL_TOOL_URLS to run it for real "
                       "(a dry run needs none)")
    if url:
        check_url(url)
    fields = {"event": "signal.action", "proposal_id": p.id, "pattern_id": p.pattern_id, "pattern": p.pattern_label,
              "hypothesis": p.hypothesis, "action": p.action, "confidence": round(p.confidence, 4),
              "risk": p.risk, "severity": p.severity, "merchants": p.merchants}
    if p.tool == "doc_draft":
        markdown = (f"## Migration note: {p.pattern_label}\n\n{p.merchants} merchants are affected. The likely cause "
                    f"is **{p.hypothesis}** ({p.confidence:.0%} confidence). Describe the symptom, the fix and "
                    "how to check it here before publishing.\n")
        return ToolMessage(p.tool, None, "markdown", {**fields, "markdown": markdown})
    if p.tool == "internal_ticket":
        body = {**fields, "title": f"[signals] {p.pattern_label}"[:200], "description": _summary(p)}
        return ToolMessage(p.tool, url, "json", body)
    if missing:
        return ToolMessage(p.tool, None, "json", fields,
                           note=f"no URL is configured for {p.tool} (CXW_SIGNAL_TOOL_URLS): a real run would be "
                                "refused; a Slack hook URL would receive {\"text\": …} instead of this JSON")
    fmt = message_format(url)
    return ToolMessage(p.tool, url, fmt, {"text": _summary(p)} if fmt == "slack" else fields)
