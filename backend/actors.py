"""Who did something: a token's holder, the job, or a person at the command line."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

ROLES = ("engineer", "pm", "job")


@dataclass(frozen=True)
class Actor:
    """The caller. ``role`` is engineer, pm or job for tokens; ``cli`` for a local command."""

    name: str
    role: str
    token_id: int | None = None


def cli_actor() -> Actor:
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "unknown"
    return Actor(f"cli:{user}", "cli")


JOB_ACTOR = Actor("job", "job")
