"""What-if runs in the service: a what-if (`backend.whatif.whatif_workspace`) executed in a background
thread whose stage and fraction done the UI polls, instead of one request held open while it works.

A run lives in this server process only (a what-if is seconds of work whose answer is recomputed on
demand; nothing about it needs the database): `WhatIfRuns` keeps the last ``keep`` runs, at most
``max_running`` at once (a fit takes a core), and each run records every `backend.progress.Progress`
report of the what-if. A run ends ``succeeded`` with the result or ``failed`` with the one-line error
(`UserError`: what the user asked is wrong; anything else: the exception's type and text).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from backend.errors import Conflict
from backend.models.base import utcnow
from backend.progress import Progress
from data.errors import UserError
from data.wire import WIRE_DATACLASS
from recommendations import WhatIfResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WhatIfRun:
    """One what-if run as the API shows it: its stage and progress while it runs, then its result or error."""

    # a plain dataclass, so that recording progress in the run's thread never fails validating; the API
    # serialises it as it is, with the wire's configuration
    __pydantic_config__ = WIRE_DATACLASS

    id: Annotated[str, Field(description="The run's id (poll GET .../whatif/runs/{run_id})")]
    incident_id: int
    status: Literal["running", "succeeded", "failed"]
    stage: Annotated[str, Field(description="What the run is doing (or did last)")]
    progress: Annotated[float, Field(ge=0, le=1, description="Fraction of the work done")]
    rows: Annotated[int | None, Field(description="Records the current stage works on, when counted")]
    started_at: datetime
    finished_at: datetime | None = None
    error: Annotated[str | None, Field(description="Why the run failed (one line)")] = None
    result: Annotated[WhatIfResult | None, Field(description=("The what-if's answer once the run succeeded (the same "
                                                              "JSON as POST /api/incidents/{incident_id}/whatif)"))] = None


class WhatIfRuns:
    """The what-if runs of this process; thread-safe."""

    def __init__(self, keep: int = 64, max_running: int = 4):
        self.keep = keep
        self.max_running = max_running
        self._runs: OrderedDict[str, WhatIfRun] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, incident_id: int, work: Callable[[Progress], WhatIfResult]) -> WhatIfRun:
        """Open a run and execute ``work`` (called with the run's progress callback) in a thread; the run
        as just opened. `Conflict` when ``max_running`` are running."""
        with self._lock:
            if sum(r.status == "running" for r in self._runs.values()) >= self.max_running:
                raise Conflict(f"{self.max_running} what-ifs are running; try again when one has finished")
            run = WhatIfRun(uuid.uuid4().hex, incident_id, "running", "queued", 0.0, None, utcnow())
            self._runs[run.id] = run
            while len(self._runs) > self.keep:
                oldest = next((k for k, r in self._runs.items() if r.status != "running"), None)
                if oldest is None:
                    break
                del self._runs[oldest]
        threading.Thread(target=self._execute, args=(run.id, work), name=f"whatif-{run.id[:8]}", daemon=True).start()
        return run

    def get(self, run_id: str, incident_id: int) -> WhatIfRun | None:
        """The run, when it exists and is of that incident."""
        with self._lock:
            run = self._runs.get(run_id)
        return run if run is not None and run.incident_id == incident_id else None

    def _update(self, run_id: str, **changes) -> None:
        with self._lock:
            self._runs[run_id] = replace(self._runs[run_id], **changes)

    def _execute(self, run_id: str, work: Callable[[Progress], WhatIfResult]) -> None:
        """Run ``work`` and close the run; never raises (the run records what went wrong)."""

        def progress(stage: str, done: float | None = None, rows: int | None = None) -> None:
            with self._lock:
                run = self._runs[run_id]
                self._runs[run_id] = replace(run, stage=stage, rows=rows,
                                             progress=run.progress if done is None else min(max(done, 0.0), 1.0))

        try:
            result = work(progress)
        except UserError as err:
            self._update(run_id, status="failed", error=str(err), finished_at=utcnow())
        except Exception as err:  # the run records it; the server keeps serving
            log.exception("what-if run %s failed", run_id)
            self._update(run_id, status="failed", error=f"{type(err).__name__}: {err}", finished_at=utcnow())
        else:
            self._update(run_id, status="succeeded", stage="done", progress=1.0, result=result, finished_at=utcnow())


__all__ = ["WhatIfRun", "WhatIfRuns"]
