"""The UI's series requests for slices whose values hold & = %: each parameter the UI builds
(`frontend/src/lib/slices.ts` sliceParam, cases in `frontend/src/test/slice-params.json`, which the UI's
own test checks) reads back, in the API, to the raw cube label it was built from, and is canonical."""

import json
from pathlib import Path

import pytest

from backend import cubes

CASES = json.loads((Path(__file__).parents[2] / "frontend" / "src" / "test" / "slice-params.json").read_text())


@pytest.mark.parametrize("case", CASES["cases"], ids=lambda c: c["key"])
def test_the_ui_slice_parameter_reads_back_to_its_raw_key(case):
    label, canonical = cubes.slice_label(case["param"], CASES["dimensions"])
    assert label == case["key"]
    assert canonical == case["param"]
