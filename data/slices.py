"""Slices: conjunctions of dimension=value filters, the unit that every stage localizes to."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Slice:
    """A conjunction of dimension=value filters, e.g. ``region=west&category=grocery``.

    ``filters`` is sorted by dimension name; the empty tuple is the total (``*``).
    ``share`` is the fraction of the total change (real - predict, or of the derived metric's change)
    that this slice carries; ``score`` is the localizer's own ranking score (higher is better).
    """

    filters: tuple[tuple[str, str], ...]
    share: float = field(default=0.0, compare=False)
    score: float = field(default=0.0, compare=False)

    @classmethod
    def parse(cls, text: str, share: float = 0.0, score: float = 0.0) -> "Slice":
        """Parse ``dim=value&dim=value`` (or ``*`` for the total)."""
        text = text.strip()
        if text in ("", "*"):
            return cls((), share, score)
        pairs = []
        for part in text.split("&"):
            dim, sep, value = part.partition("=")
            if not sep or not dim:
                raise ValueError(f"slice {text!r}: expected dim=value pairs joined by '&'")
            pairs.append((dim.strip(), value.strip()))
        return cls(tuple(sorted(pairs)), share, score)

    @property
    def key(self) -> str:
        """Canonical text form: ``dim=value`` pairs sorted by dimension, joined by ``&``; ``*`` for the total."""
        return "&".join(f"{d}={v}" for d, v in self.filters) if self.filters else "*"

    @property
    def depth(self) -> int:
        return len(self.filters)

    def contains(self, other: "Slice") -> bool:
        """True when ``other`` is this slice or one of its descendants."""
        return set(self.filters) <= set(other.filters)

    def __str__(self) -> str:
        return self.key


def parse_scope(text: str) -> tuple[Slice, ...]:
    """Parse a change event's scope: ``*`` (everything) or slices joined by ``;``.

    Returns ``()`` for ``*``; raises ValueError on malformed text.
    """
    text = (text or "").strip()
    if text in ("", "*"):
        return ()
    return tuple(Slice.parse(part) for part in text.split(";") if part.strip())


def scope_text(scope: tuple[Slice, ...]) -> str:
    """A scope as `parse_scope` reads it: ``*`` for everything, else the slices' keys joined by ``;``."""
    return ";".join(s.key for s in scope) if scope else "*"
