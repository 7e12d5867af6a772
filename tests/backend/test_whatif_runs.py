"""What-if runs in the service (`backend.jobs.whatif`): progress while running, the result or the one-line
error at the end, a bound on runs at once, and only the last runs kept."""

from __future__ import annotations

import threading
import time

import pytest

from backend.errors import Conflict
from backend.jobs.whatif import WhatIfRuns
from data.errors import UserError


def _ended(runs: WhatIfRuns, run_id: str, incident: int = 1):
    deadline = time.monotonic() + 10
    while (run := runs.get(run_id, incident)).status == "running":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return run


def test_runs_report_progress_then_end_and_at_most_max_running_go_at_once():
    runs = WhatIfRuns(keep=2, max_running=2)
    release, reported = threading.Event(), threading.Event()

    def slow(progress):
        progress("fitting the outcome model", done=0.4, rows=12000)
        progress("still fitting")  # no fraction: the last one stays
        reported.set()
        release.wait(10)
        return "the answer"

    first = runs.start(1, slow)
    assert first.status == "running" and first.stage == "queued" and first.progress == 0
    assert reported.wait(10)
    now = runs.get(first.id, 1)
    assert (now.status, now.stage, now.progress, now.rows) == ("running", "still fitting", 0.4, None)
    assert runs.get(first.id, 2) is None  # read through its own incident only
    second = runs.start(1, slow)
    with pytest.raises(Conflict, match="2 what-ifs are running"):
        runs.start(1, slow)
    release.set()
    for run in (first, second):
        done = _ended(runs, run.id)
        assert (done.status, done.progress, done.result, done.error) == ("succeeded", 1.0, "the answer", None)
        assert done.finished_at is not None

    def bad(progress):
        raise UserError("'nope' is not a feature of cx")

    def broken(progress):
        raise ZeroDivisionError("division by zero")

    assert _ended(runs, runs.start(1, bad).id).error == "'nope' is not a feature of cx"
    assert _ended(runs, runs.start(1, broken).id).error == "ZeroDivisionError: division by zero"
    assert runs.get(first.id, 1) is None and runs.get(second.id, 1) is None  # only the last 2 are kept
