"""A what-if run as the API shows it (`backend.jobs.whatif`): its stage and progress while it runs, then
its result or error."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from recommendations import WhatIfResult


class WhatIfRunPublic(BaseModel):
    id: str = Field(description="The run's id (poll GET .../whatif/runs/{run_id})")
    incident_id: int
    status: Literal["running", "succeeded", "failed"]
    stage: str = Field(description="What the run is doing (or did last)")
    progress: float = Field(ge=0, le=1, description="Fraction of the work done")
    rows: int | None = Field(description="Records the current stage works on, when counted")
    started_at: datetime
    finished_at: datetime | None
    error: str | None = Field(description="Why the run failed (one line)")
    result: WhatIfResult | None = Field(description="The what-if's answer once the run succeeded (the same "
                                                      "JSON as POST /api/incidents/{incident_id}/whatif)")
