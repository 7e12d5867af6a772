"""Reconciliation runs over HTTP: the options of `cxw reconcile`, a run with its progress, and the engine's
own `ReconciliationSummary` as the findings (the same JSON as the CLI's summary.json)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from backend.schemas.common import ORMModel
from recommendations.reconcile import RecordCounts

ColumnName = Annotated[str, Field(min_length=1, max_length=200)]
Tolerance = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class ReconcileSettings(BaseModel):
    """What `cxw reconcile` takes besides the files; names are matched against the files' real columns."""

    key: list[ColumnName] = Field(min_length=1, max_length=20, description="Key column(s); several make a composite key")
    compare: list[ColumnName] = Field(default_factory=list, max_length=500,
                                      description="Compare only these columns (default: every column on both sides)")
    tolerances: dict[ColumnName, Tolerance] = Field(default_factory=dict,
                                                    description="Column -> numbers within this are equal")
    reason_column: ColumnName | None = None
    customer_column: ColumnName | None = None
    amount_column: ColumnName | None = None
    key_normalize: str = Field("trim,case,zeros", max_length=50, description="trim,case,zeros or none")
    previous_run_id: int | None = Field(None, ge=1, le=2_147_483_647,
                                        description="A succeeded reconciliation run to compare with")


class ReconcilePathsRequest(ReconcileSettings):
    """A reconciliation of two files already on the server, under ``CXW_DATA_DIR`` or ``CXW_WORKSPACE_DIRS``."""

    legacy_path: str = Field(min_length=1, max_length=1000)
    migrated_path: str = Field(min_length=1, max_length=1000)
    name: str | None = Field(None, max_length=200)

    @field_validator("legacy_path", "migrated_path")
    @classmethod
    def _printable(cls, path: str) -> str:
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
            raise ValueError("a path may not hold control characters")
        return path


class ReconciliationRunPublic(ORMModel):
    id: int
    name: str
    source: Literal["upload", "server", "import"]
    status: Literal["running", "succeeded", "failed"]
    actor: str
    legacy_name: str = Field(description="The legacy file as the requester named it")
    migrated_name: str
    options: ReconcileSettings
    previous_id: int | None = Field(description="The run this one is compared with")
    step: str = Field(description="What the run is doing (or did last)")
    progress: float = Field(ge=0, le=1)
    started_at: datetime
    finished_at: datetime | None
    heartbeat_at: datetime | None
    error: str | None
    verdict: Literal["agree", "differ"] | None
    counts: RecordCounts | None = Field(None, description="The summary's record counts once the run succeeded")
    patterns: int | None = Field(None, description="Mismatch patterns found")
    systematic: int | None = Field(None, description="Patterns concentrated in a slice")
