"""What-ifs answered from a kept model: the same numbers as a fresh fit, a new fit when the data change."""

from __future__ import annotations

import os

from backend.whatif import WhatIfCache, whatif_workspace
from pydantic import TypeAdapter

from recommendations import DriverChange, WhatIfResult
from tests.recommendations import sim


def test_a_kept_model_answers_like_a_fresh_fit_and_new_data_refit(tmp_path):
    world = sim.simulate(11, orders=9000, threshold_mix=True)
    path = sim.write(world, tmp_path / "ws", with_event=False, recommendations={"model": {"kind": "glm", "bootstrap": 10}})
    cache = WhatIfCache(size=2)
    stages: list[str] = []

    def heard(stage, done=None, rows=None):
        stages.append(stage)

    first = [DriverChange("batching_threshold", "set", 2)]
    second = [DriverChange("courier_supply_ratio", "scale", 1.1)]
    fresh = whatif_workspace(path, second, "region=west", cache=None)
    whatif_workspace(path, first, "region=west", cache=cache, progress=heard)
    assert any(s.startswith("fitting the outcome model") for s in stages)
    stages.clear()
    kept = whatif_workspace(path, second, "region=west", cache=cache, progress=heard)
    assert not any(s.startswith("fitting") for s in stages), stages  # answered from the kept model
    wire = TypeAdapter(WhatIfResult)
    assert wire.dump_json(kept) == wire.dump_json(fresh)  # the same estimates and intervals as a fresh fit

    other_scope = whatif_workspace(path, second, "region=east", cache=cache, progress=heard)
    assert any(s.startswith("fitting") for s in stages) and wire.dump_json(other_scope) != wire.dump_json(kept)

    stages.clear()
    records = sorted((tmp_path / "ws").rglob("*.parquet"))[0]
    st = records.stat()
    os.utime(records, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # the data changed
    whatif_workspace(path, second, "region=west", cache=cache, progress=heard)
    assert any(s.startswith("fitting") for s in stages)
