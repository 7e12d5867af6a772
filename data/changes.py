"""The change-event log: deployments, policy changes, model roll-outs, migrations.

A CSV with columns ``ts, name, kind, scope, description``. ``scope`` is ``*`` or slices such as
``region=west&category=grocery``, several joined by ``;``. Loading validates every row and names the
file, line and column of the first mistake.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from data.errors import WorkspaceError
from data.slices import Slice, parse_scope

REQUIRED = ("ts", "name", "kind", "scope")


@dataclass(frozen=True)
class ChangeEvent:
    """One logged change. ``scope == ()`` means everything (``*``)."""

    ts: datetime
    name: str
    kind: str
    scope: tuple[Slice, ...]
    description: str = ""

    @property
    def is_global(self) -> bool:
        return not self.scope

    @property
    def scope_text(self) -> str:
        return ";".join(s.key for s in self.scope) if self.scope else "*"


def _read_csv(path: Path, where: str) -> pd.DataFrame:
    if path.is_file() and not path.read_bytes()[:4096].strip():
        raise WorkspaceError(where, f"{path.name}: the file is empty; it needs the header row {','.join(REQUIRED)}"
                                    ",description")
    for encoding in ("utf-8", "latin-1"):
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding, sep=None, engine="python")
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error, OSError) as err:
            raise WorkspaceError(where, f"{path.name}: cannot read CSV: {str(err).splitlines()[0]}") from None
    raise WorkspaceError(where, f"{path.name}: not UTF-8 or Latin-1 text")


def _parse_ts(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        if text.replace(".", "", 1).isdigit():
            value = float(text)
            unit = "us" if value > 1e14 else "ms" if value > 1e11 else "s"
            return pd.Timestamp(value, unit=unit).to_pydatetime()
        ts = pd.Timestamp(text)
    except (ValueError, OverflowError):
        return None
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


def load_change_events(path: Path, dimensions: list[str], where: str = "changes.path") -> tuple[ChangeEvent, ...]:
    """Read and validate a change log; scopes may only name the workspace's ``dimensions``."""
    if not path.exists():
        raise WorkspaceError(where, f"{path} does not exist")
    frame = _read_csv(path, where)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise WorkspaceError(where, f"{path.name}: missing column {missing[0]!r} (needs {', '.join(REQUIRED)})")
    known = set(dimensions)
    events: list[ChangeEvent] = []
    for i, row in enumerate(frame.itertuples(index=False), start=2):  # line 1 is the header
        here = f"{path.name} line {i}"
        ts = _parse_ts(row.ts)
        if ts is None:
            raise WorkspaceError(where, f"{here}: ts {row.ts!r} is not a timestamp")
        if not row.name.strip():
            raise WorkspaceError(where, f"{here}: name is empty")
        try:
            scope = parse_scope(row.scope)
        except ValueError as err:
            raise WorkspaceError(where, f"{here}: scope: {err}") from None
        for s in scope:
            for dim, _ in s.filters:
                if dim not in known:
                    raise WorkspaceError(where, f"{here}: scope names {dim!r}, which is not a dimension "
                                                f"({', '.join(dimensions)})")
        description = getattr(row, "description", "") or ""
        events.append(ChangeEvent(ts, row.name.strip(), row.kind.strip() or "change", scope, description.strip()))
    names = [e.name for e in events]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise WorkspaceError(where, f"{path.name}: event name {dupes[0]!r} appears twice; names must be unique")
    return tuple(sorted(events, key=lambda e: (e.ts, e.name)))
