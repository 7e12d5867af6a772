"""Window sums for many (scope, window) keys in one scan equal the sums taken one key at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from data.slices import parse_scope
from recommendations.records import MASK_BITS, _mask_batches, time_range, window_stats, window_stats_many
from tests.recommendations.conftest import SCOPE


def test_batches_fit_the_mask_with_one_bit_per_key_and_per_window():
    keys = [(SCOPE, i, i + 1) for i in range(100)]  # every key with its own window: two bits each
    batches = _mask_batches(keys)
    assert [k for b in batches for k in b] == keys
    assert all(len(b) + len({(k[1], k[2]) for k in b}) <= MASK_BITS for b in batches)
    assert len(batches) == 4  # 31 + 31 + 31 + 7


@pytest.mark.parametrize("n_keys", [3, 40])
def test_many_keys_with_their_own_windows_equal_one_at_a_time(sim_ws, n_keys):
    lo, hi = time_range(sim_ws)
    scopes = [SCOPE, parse_scope("region=north"), parse_scope("channel=ios")]
    keys = [(scopes[i % 3], lo + timedelta(hours=3 * i), hi) for i in range(n_keys)]
    many = window_stats_many(sim_ws, keys)
    assert set(many) == set(keys)
    for key in keys[:: max(1, n_keys // 8)]:
        one = window_stats(sim_ws, *key)
        assert many[key].records == one.records and many[key].all_records == one.all_records
        assert many[key].values == pytest.approx(one.values, nan_ok=True)
        assert many[key].denominator == pytest.approx(one.denominator)
