"""The failure-ratio instance generator: the properties of the real incidents it stands for."""

from __future__ import annotations

import numpy as np
import pandas as pd

from backend.commands.localize_commands import find_instances, read_leaves
from data.slices import Slice
from data.synthetic.failure_ratio import FailureRatioConfig, draw_case, write_cases

SMALL = FailureRatioConfig(leaves=(1_000, 3_000))


def test_a_case_looks_like_a_minute_of_failure_ratios():
    rng = np.random.default_rng(4)
    cases = [draw_case(rng, SMALL) for _ in range(12)]
    for case in cases:
        num, den = case.numerator, case.denominator
        assert 4 <= len(case.dims) <= 6
        assert all(2 <= num[d].nunique() <= 30 for d in case.dims)
        assert (num[list(case.dims)].to_numpy() == den[list(case.dims)].to_numpy()).all()
        assert (num["real"] <= den["real"]).all() and (num["real"] >= 0).all()  # failures of requests
        # the forecast is the mean of four minutes: multiples of 1/4
        assert np.allclose(den["predict"] * 4, np.round(den["predict"] * 4))
        assert np.allclose(num["predict"] * 4, np.round(num["predict"] * 4))
        requests = den["real"].to_numpy()
        assert np.median(requests) < 10 and requests.max() > 100  # most a handful, a few many
        for key in case.truth:
            assert 1 <= len(Slice.parse(key).filters) <= 2
        assert abs(sum(case.shares) - 1) < 1e-9
    assert max(c.denominator["real"].max() for c in cases) > 1000
    assert any((c.denominator["predict"] == 0).any() for c in cases)  # leaves without history
    assert any((c.denominator["real"] == 0).any() for c in cases)  # leaves gone this minute
    assert {len(c.truth) for c in cases} >= {1, 2}


def test_root_cause_elements_are_never_nested():
    rng = np.random.default_rng(5)
    for _ in range(30):
        elements = [dict(Slice.parse(k).filters) for k in draw_case(rng, SMALL).truth]
        for i, a in enumerate(elements):
            for b in elements[i + 1:]:
                shared = set(a) & set(b)
                assert not shared or any(a[d] != b[d] for d in shared)


def test_written_cases_are_read_as_ratio_instances(tmp_path):
    out = write_cases(tmp_path / "rs", 3, seed=6, cfg=SMALL)
    instances = find_instances(out)
    assert len(instances) == 3 and all(inst.is_ratio for inst in instances)
    frame, dims = read_leaves(instances[0].files[0])
    assert dims == sorted(dims) and len(frame) > 500
    info = pd.read_csv(out / "injection_info.csv")
    assert list(info["timestamp"]) == [inst.timestamp for inst in instances]
    assert all(len(str(s).split(";")) == len(str(t).split(";")) for s, t in zip(info["set_share"], info["set"]))
    assert not list(out.glob(".*"))  # no temporary files left
