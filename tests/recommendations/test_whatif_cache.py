"""What-ifs answered from a kept model: the same numbers as the full recomputation (a fresh fit), whether
the model was kept in memory, saved to disk and read back, or taken from the recommendations' own fit
during the analysis; new data make a new model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from backend.cli import main
from backend.whatif import (
    WhatIfCache, WhatIfStore, incident_whatif_scopes, keep_incident_whatifs, whatif_key, whatif_workspace,
)
from data.slices import parse_scope
from data.sources import open_workspace
from data.workspace import load_workspace
from recommendations import DriverChange, Recommender, WhatIfResult
from recommendations.whatif import DEFAULT_WINDOW_DAYS, WhatIfModel, prepare_whatif, whatif_settings
from tests.recommendations import sim
from tests.recommendations.conftest import SCOPE, batching_incident

FIRST = [DriverChange("batching_threshold", "set", 2)]
SECOND = [DriverChange("batching_threshold", "set", 3), DriverChange("courier_supply_ratio", "scale", 1.1)]


class Stages(list):
    """The stages a what-if reports."""

    def __call__(self, stage, done=None, rows=None):
        self.append(stage)

    def fitted(self) -> bool:
        return any("fitting the outcome model" in s for s in self)


def _wire(result) -> bytes:
    """A what-if answer as the API serialises it (estimates and intervals)."""
    return TypeAdapter(WhatIfResult).dump_json(result)


def _touch(folder):
    """Make the workspace's data newer (what a new day of records does to the signature)."""
    records = sorted(folder.rglob("*.parquet"))[0]
    st = records.stat()
    os.utime(records, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_a_kept_model_answers_like_a_fresh_fit_and_new_data_refit(tmp_path):
    world = sim.simulate(11, orders=9000, threshold_mix=True)
    path = sim.write(world, tmp_path / "ws", with_event=False, recommendations={"model": {"kind": "glm", "bootstrap": 10}})
    cache = WhatIfCache(size=2)
    stages = Stages()
    fresh = whatif_workspace(path, SECOND, "region=west", cache=None)
    whatif_workspace(path, FIRST, "region=west", cache=cache, progress=stages)
    assert stages.fitted()
    stages.clear()
    kept = whatif_workspace(path, SECOND, "region=west", cache=cache, progress=stages)
    assert not stages.fitted(), stages  # answered from the kept model
    assert _wire(kept) == _wire(fresh)  # the same estimates and intervals as a fresh fit

    other_scope = whatif_workspace(path, SECOND, "region=east", cache=cache, progress=stages)
    assert stages.fitted() and _wire(other_scope) != _wire(kept)

    stages.clear()
    _touch(tmp_path / "ws")
    whatif_workspace(path, SECOND, "region=west", cache=cache, progress=stages)
    assert stages.fitted()


@pytest.mark.parametrize("kind", ["lightgbm", "glm"])
def test_a_saved_model_read_back_answers_exactly_like_a_fresh_fit(tmp_path, kind):
    world = sim.simulate(5, orders=6000, threshold_mix=True)
    path = sim.write(world, tmp_path / "ws", with_event=False,
                     recommendations={"model": {"kind": kind, "bootstrap": 6, "sample": 3000, "eval_sample": 800,
                                                "rounds": 20}})
    ow = open_workspace(path)
    model = prepare_whatif(ow, "region=west", whatif_settings(ow.workspace)).predict_as_is(ow)
    model.save(tmp_path / "saved")
    loaded = WhatIfModel.load(tmp_path / "saved")
    assert loaded is not None and loaded.window == model.window and loaded.scope == model.scope
    refit = WhatIfCache()  # the full recomputation: a fresh fit (then kept for the second question)
    for changes in (FIRST, SECOND):
        fresh = whatif_workspace(path, changes, "region=west", cache=refit)
        assert _wire(loaded.answer(ow, changes)) == _wire(fresh)
    assert WhatIfModel.load(tmp_path / "nothing") is None


def test_the_analysis_keeps_each_incidents_whatif_from_the_recommendations_own_fit(sim_ws, sim_world, tmp_path,
                                                                                    capsys):
    """The recommendations fit the outcome model of the incident's cause scope; the what-if of that scope is
    that very model, so keeping it costs no fit, and the first what-if loads it instead of fitting."""
    path = sim_ws.workspace.source_file
    recommender = Recommender(sim_ws).prepare([batching_incident(sim_world)])
    settings = whatif_settings(sim_ws.workspace)
    assert any(s.fitted_as(SCOPE, settings) for s in recommender.scenes_)
    entry = {"recommendations": [{"scope": [s.key for s in SCOPE]}, {"scope": ["region=east"]}]}
    assert incident_whatif_scopes([entry, {"recommendations": []}]) == [SCOPE]  # the top one's, as the UI asks

    store = WhatIfStore(tmp_path / "store")
    stages = Stages()
    assert keep_incident_whatifs(path, [SCOPE], store, fitted=recommender.scenes_, progress=stages) == 1
    assert stages and not stages.fitted(), stages
    assert keep_incident_whatifs(path, [parse_scope("region=north")], WhatIfStore(tmp_path / "other"),
                                 fitted=recommender.scenes_, progress=stages) == 1
    assert stages.fitted()  # another scope's model is fitted
    assert keep_incident_whatifs(path, [SCOPE], store, fitted=recommender.scenes_) == 0  # kept already

    scope = "region=east;region=west"
    stages = Stages()
    first = whatif_workspace(path, SECOND, scope, cache=WhatIfCache(), store=store, progress=stages)
    assert "loading the outcome model the analysis kept" in stages and not stages.fitted(), stages
    assert _wire(first) == _wire(whatif_workspace(path, SECOND, scope, cache=None))
    assert main(["whatif", str(path), "--scale", "courier_supply_ratio=1.1", "--set", "batching_threshold=3",
                 "--scope", scope, "--kept", str(store.folder), "--json", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(_wire(first))  # the CLI reads the kept model too


def test_the_store_keeps_models_of_the_current_data_only(tmp_path, monkeypatch):
    world = sim.simulate(7, orders=5000, threshold_mix=True)
    path = sim.write(world, tmp_path / "ws", with_event=False,
                     recommendations={"model": {"kind": "glm", "bootstrap": 5, "sample": 2000, "eval_sample": 500}})
    analysis = WhatIfStore(tmp_path / "analysis" / "whatif")
    west = parse_scope("region=west")
    assert keep_incident_whatifs(path, [west], analysis) == 1
    ws = open_workspace(path).workspace
    key = whatif_key(ws, west, DEFAULT_WINDOW_DAYS, whatif_settings(ws))
    service = WhatIfStore(tmp_path / "service")
    monkeypatch.chdir(tmp_path)
    relative = load_workspace(Path(path).relative_to(tmp_path))  # as a job given a relative path reads it
    assert whatif_key(relative, west, DEFAULT_WINDOW_DAYS, whatif_settings(relative)) == key
    assert service.adopt(analysis.folder, relative) == 1 and service.has(key) and service.get(key) is not None

    _touch(tmp_path / "ws")  # new data: the kept models are of the old data
    newer = whatif_key(ws, west, DEFAULT_WINDOW_DAYS, whatif_settings(ws))
    assert newer != key and not service.has(newer) and service.adopt(analysis.folder, ws) == 0
    stages = Stages()
    whatif_workspace(path, FIRST, "region=west", cache=None, store=service, progress=stages)
    assert stages.fitted()  # a model of other data is never used
    assert keep_incident_whatifs(path, [west], service) == 1
    assert service.has(newer) and not service.has(key)  # the old data's model was dropped
    assert sorted(p.name for p in service.folder.iterdir()) == [newer.name()]  # and nothing half-written stays
