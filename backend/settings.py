"""Service settings, read from the environment with the ``CXW_`` prefix (pydantic-settings).

Outside development (``CXW_ENV`` other than ``development``) the service and every command that opens
its database refuse the default secret, a short one or a predictable one (and a blank one anywhere):
`Settings.check_deployable` raises a `UserError` naming the variable to set.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import cached_property
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from data.errors import UserError
from data.paths import PathGuard

DEFAULT_SECRET = "cxw-development-secret-change-me"
MIN_SECRET_BITS = 64


def secret_bits(secret: str) -> float:
    """An upper bound on a secret's entropy: its length times the Shannon entropy of its characters'
    frequencies (``aaaa…`` has 0 bits, 32 characters of ``secrets.token_urlsafe`` about 150)."""
    counts = Counter(secret)
    return sum(c * math.log2(len(secret) / c) for c in counts.values())


class Settings(BaseSettings):
    """Everything the API, the job and the CLI read from the environment."""

    model_config = SettingsConfigDict(env_prefix="CXW_", extra="ignore")

    env: str = "development"
    secret_key: str = DEFAULT_SECRET
    data_dir: Path = Path(".cxw")
    database_url: str | None = None  # default: SQLite (WAL) at data_dir/cxw.db
    # Folders whose workspace files the API may register by path (besides data_dir, where uploads go).
    workspace_dirs: list[Path] = Field(default_factory=list)
    upload_max_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    frontend_dist: Path = Path("frontend/dist")
    cors_origins: list[str] = Field(default_factory=list)
    # The scheduled detection job inside `cxw serve` (off unless a cron expression is set).
    schedule_cron: str | None = None
    webhooks: list[str] = Field(default_factory=list)
    webhook_format: Literal["auto", "slack", "json"] = "auto"
    # Outbox delivery: attempt k waits webhook_backoff_seconds * 2**(k-1), at most webhook_backoff_max_seconds;
    # a job run keeps retrying for webhook_retry_budget_seconds, the rest waits for the next run or tick.
    webhook_timeout_seconds: float = 5.0
    webhook_backoff_seconds: float = 1.0
    webhook_backoff_max_seconds: float = 3600.0
    webhook_retry_budget_seconds: float = 15.0
    webhook_max_attempts: int = 12
    token_cache_seconds: float = 10.0
    read_cache_seconds: float = 1.0  # incident list/summary/detail micro-cache (see backend/api/cache.py)
    public_url: str | None = None  # base URL for links in webhook messages
    # Reconciliations started through the API: how many at once, and DuckDB's memory limit and threads for each.
    reconcile_max_running: int = Field(default=2, ge=1)
    reconcile_memory_limit: str = Field(default="2GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")
    reconcile_threads: int | None = Field(default=None, ge=1)
    # Signal tools that post outside (escalation, webhook_post): tool -> URL, e.g. CXW_SIGNAL_TOOL_URLS='{"escalation": "https://…"}'
    signal_tool_urls: dict[str, str] = Field(default_factory=dict)
    # The workspace's own signal hypothesis library and guardrail policies (YAML; default: the built-in files),
    # e.g. CXW_SIGNAL_GUARDRAILS=workspace/signal_guardrails.yaml; validated when an analysis loads them.
    signal_hypotheses: Path | None = None
    signal_guardrails: Path | None = None
    # `cxw ask` / POST /api/ask: a question's query is interrupted after this long.
    ask_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    # Optional OpenAI-compatible language model (off unless llm_base_url is set), e.g.
    # CXW_LLM_BASE_URL=http://127.0.0.1:8080/v1 CXW_LLM_MODEL=… : it may rephrase an answer's text and the
    # narrative paragraphs of the incident, reconciliation and signal reports (each kept only when every number
    # in it is a computed one; documents/ask.md) and map a question the parser misses onto the intent schema.
    llm_base_url: str | None = None
    llm_model: str = "default"
    llm_api_key: str | None = None
    llm_timeout_seconds: float = Field(default=20.0, gt=0, le=600)

    @field_validator("schedule_cron")
    @classmethod
    def _valid_cron(cls, expr: str | None) -> str | None:
        if expr is None or not expr.strip():
            return None
        from croniter import croniter

        if not croniter.is_valid(expr):
            raise ValueError(f"CXW_SCHEDULE_CRON {expr!r} is not a valid cron expression")
        return expr.strip()

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cxw.db').resolve()}"

    def path_guard(self) -> PathGuard:
        """What the server may open for a workspace: files under ``data_dir`` and ``workspace_dirs``, never
        its own SQLite database or that database's journal files (`data.paths`)."""
        forbidden: list[Path] = []
        url = sa.engine.make_url(self.resolved_database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            forbidden = [Path(url.database + suffix) for suffix in ("", "-wal", "-shm", "-journal")]
        return PathGuard.of([self.data_dir, *self.workspace_dirs], forbidden)

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    def check_deployable(self) -> None:
        """Refuse a blank secret anywhere, and a default, short or low-entropy one outside development."""
        if not self.secret_key.strip():
            raise UserError("CXW_SECRET_KEY is empty or only whitespace; set it to a long random value "
                            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
        if self.is_development:
            return
        if self.secret_key == DEFAULT_SECRET:
            raise UserError(f"CXW_ENV={self.env} but CXW_SECRET_KEY is the development default; "
                            "set CXW_SECRET_KEY to a long random value")
        if len(self.secret_key) < 16:
            raise UserError("CXW_SECRET_KEY must be at least 16 characters outside development")
        if secret_bits(self.secret_key) < MIN_SECRET_BITS:
            raise UserError(f"CXW_SECRET_KEY is too predictable ({secret_bits(self.secret_key):.0f} bits by its "
                            f"character frequencies, at least {MIN_SECRET_BITS} needed outside development); "
                            "set it to a long random value")


def get_settings() -> Settings:
    """Settings from the current environment (read anew each call; the app keeps its own copy)."""
    return Settings()
