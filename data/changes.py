"""The change-event log: deployments, policy changes, model roll-outs, migrations.

A CSV with columns ``ts, name, kind, scope, description``. ``scope`` is ``*`` or slices such as
``region=west&category=grocery``, several joined by ``;``. Loading validates every row and names the
file, line and column of the first mistake.

Rows sharing a ``name`` are one change rolled out in *waves*, as deploy tools log a staggered roll-out:
each row is a wave with its own scope and time (rows of one name at the same time are one wave over
the union of their scopes). The rows of one change must share its ``kind``; `change_waves` groups them.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pandas as pd
from pydantic.dataclasses import dataclass

from data.errors import WorkspaceError
from data.slices import parse_scope
from data.wire import WIRE_DATACLASS, ScopeText

REQUIRED = ("ts", "name", "kind", "scope")


@dataclass(frozen=True, config=WIRE_DATACLASS)
class ChangeEvent:
    """One row of the change log: a change, or one wave of a change logged in several rows under one
    ``name``. ``scope == ()`` means everything (``*``); the API serves it as the log writes it."""

    ts: datetime
    name: str
    kind: str
    scope: ScopeText
    description: str = ""

    @property
    def is_global(self) -> bool:
        return not self.scope


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
    """Read and validate a change log (one event per row; rows sharing a name are the waves of one
    change, see `change_waves`); scopes may only name the workspace's ``dimensions``."""
    if not path.exists():
        raise WorkspaceError(where, f"{path} does not exist")
    frame = _read_csv(path, where)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise WorkspaceError(where, f"{path.name}: missing column {missing[0]!r} (needs {', '.join(REQUIRED)})")
    known = set(dimensions)
    events: list[ChangeEvent] = []
    lines: list[int] = []
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
        lines.append(i)
    _check_kinds(events, lines, path.name, where)
    return tuple(sorted(events, key=lambda e: (e.ts, e.name)))


def _check_kinds(events: list[ChangeEvent], lines: list[int], file: str, where: str) -> None:
    """The rows of one change (its waves) share its kind: a name reused with another kind is refused,
    naming the rows."""
    first: dict[str, int] = {}
    for i, e in enumerate(events):
        j = first.setdefault(e.name, i)
        if events[j].kind.lower() != e.kind.lower():
            rows = [lines[k] for k, x in enumerate(events) if x.name == e.name]
            raise WorkspaceError(where, f"{file} lines {', '.join(map(str, rows))}: change {e.name!r} is logged with "
                                        f"kinds {events[j].kind!r} (line {lines[j]}) and {e.kind!r} (line {lines[i]}); "
                                        "the rows of one change are its waves and must share its kind")


def change_waves(events: tuple[ChangeEvent, ...]) -> dict[str, tuple[ChangeEvent, ...]]:
    """The changes of a log by name, each as its waves in time order: one `ChangeEvent` per distinct
    time, whose scope is the union of that time's rows (everything when one of them is ``*``)."""
    rows: dict[str, list[ChangeEvent]] = {}
    for e in sorted(events, key=lambda e: (e.ts, e.name)):
        rows.setdefault(e.name, []).append(e)
    out: dict[str, tuple[ChangeEvent, ...]] = {}
    for name, members in rows.items():
        waves: list[ChangeEvent] = []
        for e in members:
            if waves and waves[-1].ts == e.ts:
                last = waves[-1]
                scope = () if last.is_global or e.is_global else tuple(dict.fromkeys(last.scope + e.scope))
                waves[-1] = replace(last, scope=scope,
                                    description="; ".join(d for d in dict.fromkeys((last.description, e.description)) if d))
            else:
                waves.append(e)
        out[name] = tuple(waves)
    return out
