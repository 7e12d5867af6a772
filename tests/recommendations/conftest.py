"""Fixtures: simulated workspaces with a known answer, hand-built incidents."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from data.slices import Slice, parse_scope
from data.sources import OpenWorkspace, open_workspace
from data.workspace import Workspace
from detection.types import Interval, Regression
from rca.types import Cause, DidDetail, DidEvidence, Incident, TimingDetail, TimingEvidence
from tests.recommendations import sim

SCOPE = parse_scope("region=east;region=west")


def memory_workspace(frame: pd.DataFrame, metrics: list[dict], features: list[str] | None = None) -> OpenWorkspace:
    """An OpenWorkspace over an in-memory frame (no files): for loops over many simulated seeds."""
    ws = Workspace.model_validate({
        "name": "sim-memory",
        "records": {"path": "memory", "timestamp": "created_at", "dimensions": ["region", "channel"],
                    "features": features or ["courier_supply_ratio", "prep_minutes", "batching_threshold",
                                             "app_version"]},
        "metrics": metrics, "source_file": Path("/memory/workspace.yaml")})
    con = duckdb.connect()
    con.register("frame", frame[[c for c in frame.columns if not c.startswith("_")]])
    con.execute("CREATE VIEW records AS SELECT * FROM frame")
    columns = {n: t for n, t, *_ in con.execute("DESCRIBE SELECT * FROM records").fetchall()}
    return OpenWorkspace(ws, con, columns, (), ())


def batching_incident(world: sim.World, metric: str = "on_time_rate", with_evidence: bool = False,
                      extra_causes: tuple[Cause, ...] = ()) -> Incident:
    t0 = world.t0
    reg = Regression(
        id="reg-1", metric=metric, direction="down", start=t0, end=t0 + timedelta(days=world.days), baseline=0.8,
        current=0.72, change=-0.08, change_interval=Interval(-0.1, -0.06), relative_change=-0.1,
        relative_interval=Interval(-0.12, -0.08), p_value=1e-6, q_value=1e-5, slice=Slice(()),
        slices=(Slice((("region", "east"),), share=0.55), Slice((("region", "west"),), share=0.45)),
        baseline_start=t0 - timedelta(days=7))
    evidence: dict = {"timing": timing_ev(0.01)}
    if with_evidence:
        evidence["did"] = DidEvidence(effect=-0.1, interval=Interval(-0.14, -0.06), p_value=1e-4, supports=True,
                                      detail=DidDetail(design="DiD"))
    cause = Cause("policy_change", "batching_threshold_4", "batching_threshold", SCOPE, 0.85, evidence,
                  "the threshold went from 2 to 4 in east and west", ("rollback_change", "tune_parameter"))
    return Incident(reg, (cause, *extra_causes))


def timing_ev(p_value: float, hours: float = 0.0) -> TimingEvidence:
    """Timing evidence of a candidate ``hours`` from the change point (on time when 0)."""
    return TimingEvidence(effect=hours, p_value=p_value, supports=hours == 0.0, detail=TimingDetail())


@pytest.fixture(scope="session")
def sim_world() -> sim.World:
    return sim.simulate(3, orders=8000)


@pytest.fixture(scope="session")
def sim_ws(sim_world, tmp_path_factory) -> OpenWorkspace:
    folder = tmp_path_factory.mktemp("sim")
    path = sim.write(sim_world, folder, recommendations={
        "unit_costs": {"courier_minutes_per_order": 0.3},
        "model": {"kind": "glm", "bootstrap": 20, "sample": 6000}})
    return open_workspace(path)


@pytest.fixture(scope="session")
def recset(sim_ws, sim_world):
    """Recommendations for the simulated policy change, with a low-confidence decoy cause."""
    from recommendations import recommend

    decoy = Cause("supply", None, "courier_supply_ratio", parse_scope("region=north"), 0.1, {}, "decoy")
    return recommend(sim_ws, batching_incident(sim_world, extra_causes=(decoy,)))
