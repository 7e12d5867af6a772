"""Progress of the long compositions (analysis, detection job, reconciliation, signals job, what-if).

A composition reports each stage through a `Progress` callback — the stage's name, the fraction done
when it is known and the records it works on — and never renders anything itself: the command line
shows it with rich on a terminal (`backend.commands.progress`), the API keeps the latest stage for the
UI to poll, tests record it. `silent` reports nowhere.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Called at the start of each stage: ``done`` is the fraction of the whole work done (None: not
    known), ``rows`` the records the stage works on (None: not counted)."""

    def __call__(self, stage: str, done: float | None = None, rows: int | None = None) -> None: ...


def silent(stage: str, done: float | None = None, rows: int | None = None) -> None:
    """Report nowhere."""


__all__ = ["Progress", "silent"]
