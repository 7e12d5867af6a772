"""Operational signal records: support tickets, API errors, webhook failures and migration-state updates.

Each record type is a frozen pydantic model, validated on its own fields (the ``type`` field picks the
model); `read_signals` reads JSON lines or CSV into a `SignalTable` — two column tables the engine works on
without a Python loop per row — and names the file, line and field of the first bad record. The same
models validate the batches of `POST /api/signals`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from data.errors import UserError

SignalId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]
MerchantId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]
Stage = Literal["pre", "in_progress", "post"]


def _utc(ts: datetime) -> datetime:
    """Aware timestamps become UTC; naive ones are taken as UTC."""
    return ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: SignalId
    ts: datetime
    merchant_id: MerchantId

    @field_validator("ts")
    @classmethod
    def _ts_utc(cls, value: datetime) -> datetime:
        return _utc(value)


class Ticket(_Record):
    """A support ticket opened by (or for) a merchant."""

    type: Literal["ticket"] = "ticket"
    subject: str = Field(default="", max_length=500)
    body: str = Field(min_length=1, max_length=20_000)
    channel: str | None = Field(default=None, max_length=50)


class ApiError(_Record):
    """A failed API call seen by the platform: HTTP status, error code, method and endpoint, message."""

    type: Literal["api_error"] = "api_error"
    status: int = Field(ge=100, le=599)
    code: str = Field(min_length=1, max_length=100)
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    endpoint: str = Field(min_length=1, max_length=500, pattern=r"^/")
    message: str = Field(default="", max_length=5_000)


class WebhookFailure(_Record):
    """A webhook delivery to a merchant's endpoint that failed."""

    type: Literal["webhook_failure"] = "webhook_failure"
    topic: str = Field(min_length=1, max_length=100)
    api_version: str = Field(min_length=1, max_length=50)
    status: int | None = Field(default=None, ge=100, le=599)
    reason: str = Field(min_length=1, max_length=200)
    message: str = Field(default="", max_length=5_000)


class MigrationState(_Record):
    """A merchant's migration stage as of ``ts``: pre, in_progress (``started``) or post (``finished``)."""

    type: Literal["migration_state"] = "migration_state"
    stage: Stage
    started: datetime | None = None
    finished: datetime | None = None

    @field_validator("started", "finished")
    @classmethod
    def _times_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)

    @model_validator(mode="after")
    def _stage_times(self) -> MigrationState:
        if self.stage in ("in_progress", "post") and self.started is None:
            raise ValueError(f"stage {self.stage} needs 'started'")
        if self.stage == "post" and self.finished is None:
            raise ValueError("stage post needs 'finished'")
        if self.stage == "pre" and (self.started or self.finished):
            raise ValueError("stage pre cannot have 'started' or 'finished'")
        if self.started and self.finished and self.finished < self.started:
            raise ValueError("'finished' is before 'started'")
        return self


SignalRecord = Annotated[Ticket | ApiError | WebhookFailure | MigrationState, Field(discriminator="type")]
RECORD_ADAPTER: TypeAdapter[SignalRecord] = TypeAdapter(SignalRecord)
RECORD_TYPES = {model.model_fields["type"].default: model for model in (Ticket, ApiError, WebhookFailure,
                                                                          MigrationState)}

EVENT_COLUMNS = ("id", "type", "ts", "merchant_id", "status", "code", "method", "endpoint", "topic",
                 "api_version", "reason", "text")
MIGRATION_COLUMNS = ("merchant_id", "stage", "started", "finished", "ts")


def describe_error(err: ValidationError) -> str:
    """One line: the first failing field and what is wrong with it."""
    first = err.errors()[0]
    loc = ".".join(str(part) for part in first["loc"] if part not in RECORD_TYPES) or "record"
    return f"field '{loc}': {first['msg']}"


@dataclass(frozen=True, eq=False)
class SignalTable:
    """Validated signals as columns: ``events`` (tickets, API errors, webhook failures; one row each, columns
    `EVENT_COLUMNS`, ``ts`` UTC, ``text`` the free text: a ticket's subject and body, an error's message) and
    ``migrations`` (each merchant's latest migration state, columns `MIGRATION_COLUMNS`)."""

    events: pd.DataFrame
    migrations: pd.DataFrame

    @property
    def merchants(self) -> list[str]:
        return sorted(set(self.events["merchant_id"]) | set(self.migrations["merchant_id"]))


def table_from_records(records: Iterable[BaseModel]) -> SignalTable:
    """The records as a `SignalTable`; a repeated signal id keeps its first record (ingestion is idempotent)."""
    events: dict[str, list] = {name: [] for name in EVENT_COLUMNS}
    migrations: dict[str, list] = {name: [] for name in MIGRATION_COLUMNS}
    seen: set[str] = set()
    for record in records:
        if record.id in seen:
            continue
        seen.add(record.id)
        if isinstance(record, MigrationState):
            for name in MIGRATION_COLUMNS:
                migrations[name].append(getattr(record, name))
            continue
        text = f"{record.subject} {record.body}".strip() if isinstance(record, Ticket) else record.message
        for name in EVENT_COLUMNS:
            events[name].append(text if name == "text" else getattr(record, name, None))
    return _frames(events, migrations)


def _frames(events: dict[str, list], migrations: dict[str, list]) -> SignalTable:
    ev = pd.DataFrame(events, columns=list(EVENT_COLUMNS))
    ev["ts"] = pd.to_datetime(ev["ts"], utc=True)
    ev["status"] = pd.array(ev["status"], dtype="Int64")
    for name in ("type", "merchant_id", "code", "method", "endpoint", "topic", "api_version", "reason", "text"):
        ev[name] = ev[name].astype(object).where(ev[name].notna(), "")
    mig = pd.DataFrame(migrations, columns=list(MIGRATION_COLUMNS))
    for name in ("started", "finished", "ts"):
        mig[name] = pd.to_datetime(mig[name], utc=True)
    mig = mig.sort_values("ts", kind="stable").drop_duplicates("merchant_id", keep="last").reset_index(drop=True)
    return SignalTable(ev.sort_values("ts", kind="stable").reset_index(drop=True), mig)


def parse_json_lines(lines: Iterable[str], where: str) -> list[BaseModel]:
    """Validate JSON lines (blank lines skipped); a bad one raises `UserError` naming ``where`` and the line."""
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(RECORD_ADAPTER.validate_json(line))
        except ValidationError as err:
            raise UserError(f"{where} line {number}: {_json_or_field(err)}") from None
    return out


def _json_or_field(err: ValidationError) -> str:
    first = err.errors()[0]
    if first["type"] == "json_invalid":
        return f"not valid JSON ({first['ctx'].get('error', 'parse error') if first.get('ctx') else 'parse error'})"
    if first["type"] == "union_tag_invalid" or first["type"] == "union_tag_not_found":
        return f"field 'type': must be one of {', '.join(RECORD_TYPES)}"
    return describe_error(err)


def parse_csv(text: str, where: str) -> list[BaseModel]:
    """Validate CSV rows (a header row with ``type`` and the fields of each type; empty cells are absent)."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "type" not in reader.fieldnames:
        raise UserError(f"{where}: the header row must have a 'type' column")
    out = []
    for number, row in enumerate(reader, 2):
        if None in row:
            raise UserError(f"{where} line {number}: more cells than header columns")
        kind = row.get("type", "")
        model = RECORD_TYPES.get(kind)
        if model is None:
            raise UserError(f"{where} line {number}: field 'type': must be one of {', '.join(RECORD_TYPES)}")
        values = {k: v for k, v in row.items() if v not in ("", None) and k in model.model_fields}
        unknown = sorted(k for k, v in row.items() if v not in ("", None) and k not in model.model_fields)
        if unknown:
            raise UserError(f"{where} line {number}: field '{unknown[0]}' does not belong to a {kind} record")
        try:
            out.append(model.model_validate(values))
        except ValidationError as err:
            raise UserError(f"{where} line {number}: {describe_error(err)}") from None
    return out


def read_records(path: Path) -> list[BaseModel]:
    """Validated records of a ``.jsonl``/``.json`` (JSON lines) or ``.csv`` file."""
    path = Path(path)
    if path.suffix.lower() not in (".jsonl", ".json", ".ndjson", ".csv"):
        raise UserError(f"{path}: signals must be JSON lines (.jsonl) or CSV (.csv)")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot read ({err.__class__.__name__})") from None
    if path.suffix.lower() == ".csv":
        return parse_csv(text, str(path))
    return parse_json_lines(text.splitlines(), str(path))


def read_signals(paths: Sequence[Path]) -> SignalTable:
    """One `SignalTable` from one or more signal files."""
    records: list[BaseModel] = []
    for path in paths:
        records.extend(read_records(path))
    return table_from_records(records)


def record_json(record: BaseModel) -> dict:
    """A record as plain JSON values (for storage)."""
    return json.loads(record.model_dump_json(exclude_none=True))
