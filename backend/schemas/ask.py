"""The body of POST /api/ask (the answer is `metrics.questions.intent.Answer`, served as it is)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.api.deps import MAX_ID
from metrics.questions.intent import Intent
from metrics.questions.parser import MAX_QUESTION


class AskRequest(BaseModel):
    """A question over a registered workspace, or over a `cxw reconcile` output folder the server may read;
    ``context`` is the previous answer's ``intent`` for a follow-up."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(max_length=MAX_QUESTION)
    workspace_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    reconciliation_dir: str | None = Field(default=None, min_length=1, max_length=1000)
    context: Intent | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "AskRequest":
        if self.reconciliation_dir is not None and "\x00" in self.reconciliation_dir:
            raise ValueError("reconciliation_dir: a path cannot hold a NUL character")
        if (self.workspace_id is None) == (self.reconciliation_dir is None):
            raise ValueError("give exactly one of workspace_id and reconciliation_dir")
        return self
