"""Stage progress of the long commands: the compositions report their stages (with the records they read)
through the `backend.progress.Progress` callback; the rich display draws them only on a terminal."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from backend.analysis import analyze_workspace
from backend.cli import main
from backend.commands.progress import stage_progress
from backend.jobs.detect import run_detect
from backend.reconciliation import ReconcileOptions, reconcile
from data.synthetic.billing import generate_billing
from tests.backend.conftest import fixture_incidents
from tests.rca.helpers import at_day, panel_records, write_workspace


class Recorder:
    """Keeps every report, in order."""

    def __init__(self):
        self.seen: list[tuple[str, float | None, int | None]] = []

    def __call__(self, stage: str, done: float | None = None, rows: int | None = None) -> None:
        self.seen.append((stage, done, rows))

    @property
    def stages(self) -> list[str]:
        return [s for s, _, _ in self.seen]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    records = panel_records(seed=2, days=20, per_hour=1, effects={lambda u, g: g == "g1": (16, lambda d: 0.6 + 0 * d)})
    path = write_workspace(tmp_path_factory.mktemp("progress") / "ws", records,
                           changes=[(at_day(16), "pool_resize", "release", "grp=g1")])
    return path, len(records)


def test_analysis_reports_each_stage_with_the_records_it_reads(small, tmp_path):
    path, n = small
    seen = Recorder()
    result = analyze_workspace(path, tmp_path / "out", recommend=1, progress=seen)
    assert result.incidents
    stages = seen.stages
    assert stages[:3] == ["opening the workspace", "building the metric cube", "detecting regressions"]
    assert seen.seen[1][2] == n and seen.seen[2][2] == n
    assert stages[3] == f"explaining {result.regressions} regression(s)"
    assert stages[4] == "fitting the outcome model for 1 incident(s)"
    assert stages[5] == "recommending for incident 1 of 1" and seen.seen[5][1] == 0.0


def test_cli_draws_no_progress_when_stderr_is_not_a_terminal(small, tmp_path, capsys):
    path, _ = small
    assert main(["analyze", str(path), "--out", str(tmp_path / "out"), "--recommend", "0"]) == 0
    err = capsys.readouterr().err
    assert "incident(s) from" in err and "building the metric cube" not in err


def test_the_display_shows_stage_records_and_elapsed_on_a_terminal_only():
    out = io.StringIO()
    terminal = Console(file=out, force_terminal=True, width=120)
    with stage_progress(terminal) as progress:
        progress("building the metric cube", rows=1_234_567)
        drawn = out.getvalue()
        progress("recommending for incident 1 of 2", done=0.5)
        later = out.getvalue()[len(drawn):]
    assert "building the metric cube" in drawn and "1,234,567 records" in drawn and "0:00:00" in drawn
    assert "recommending for incident 1 of 2" in later and "1,234,567 records" in later
    for quiet, console in ((True, Console(file=io.StringIO(), force_terminal=True)),
                           (False, Console(file=io.StringIO(), force_terminal=False))):
        with stage_progress(console, quiet) as progress:
            progress("building the metric cube", rows=10)
        assert console.file.getvalue() == ""


def test_reconcile_reports_stages_with_the_records_read(tmp_path):
    truth = generate_billing(tmp_path / "pair", 2000, 3, messy=False, fmt="parquet")
    seen = Recorder()
    options = ReconcileOptions(legacy=tmp_path / "pair" / truth.legacy_file, migrated=tmp_path / "pair" / truth.migrated_file,
                               key=("account_id",))
    reconcile(options, tmp_path / "out", progress=seen)
    assert seen.stages[0] == "reading legacy" and seen.stages[-1] == "done"
    assert seen.seen[1][2] == 2000  # the legacy accounts, once read
    dones = [d for _, d, _ in seen.seen]
    assert dones == sorted(dones) and dones[-1] == 1.0


def test_the_job_reports_storing_and_delivering(sessions, settings, workspace_path, tmp_path):
    incidents = tmp_path / "incidents.json"
    incidents.write_text(json.dumps({"incidents": fixture_incidents()}))
    seen = Recorder()
    run_detect(sessions, settings, workspace_path, incidents_file=incidents, progress=seen)
    assert seen.stages == [f"storing {len(fixture_incidents())} incident(s)", "delivering webhook messages"]


def test_the_signals_job_reports_its_stages_with_the_signals_read(sessions, tmp_path):
    from backend.actors import JOB_ACTOR
    from backend.crud import signals
    from backend.signals_analysis import SignalSettings
    from data.signals import RECORD_ADAPTER
    from data.synthetic.signals import simulate_migration

    simulate_migration(tmp_path / "sim", merchants=60, days=10, seed=3, patterns=("checkout_callback",))
    rows = [RECORD_ADAPTER.validate_json(line) for line in (tmp_path / "sim" / "signals.jsonl").read_text().splitlines()]
    with sessions.begin() as session:
        signals.ingest(session, rows, JOB_ACTOR)
    seen = Recorder()
    with sessions.begin() as session:
        signals.run_analysis(session, JOB_ACTOR, SignalSettings(window_days=3), progress=seen)
    assert seen.stages == ["loading the stored signals", "investigating patterns, spikes and causes",
                           "storing the report and its proposals"]
    # the events, and each merchant's latest migration state
    states = {r.merchant_id for r in rows if r.type == "migration_state"}
    assert seen.seen[1][2] == sum(r.type != "migration_state" for r in rows) + len(states)
