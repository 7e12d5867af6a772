"""A minimal stand-in for `detection.localize` until the localization branch is merged (tests only).

Adtributor-like (Bhagwan et al. 2014), one dimension at a time: each dimension value's share of the
total deviation (explanatory power) weighed by how surprising that share is given its share of volume.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.slices import Slice


def _rank(deviation: pd.Series, volume: pd.Series, leaves: pd.DataFrame, dims: list[str]) -> list[Slice]:
    sign = np.sign(deviation.sum())
    deviation = (deviation * sign).clip(lower=0.0)  # leaves that moved the way the total moved
    total_dev = deviation.sum()
    total_vol = volume.sum()
    if total_dev == 0 or total_vol == 0:
        return []
    found = []
    for dim in dims:
        dev = deviation.groupby(leaves[dim]).sum()
        vol = volume.groupby(leaves[dim]).sum()
        for value, d in dev.items():
            share = d / total_dev
            lift = share / max(vol[value] / total_vol, 1e-12)
            if share >= 0.05 and lift > 1.2:
                found.append(Slice(((dim, str(value)),), share=float(share), score=float(share * np.log(lift))))
    return sorted(found, key=lambda s: -s.score)


def localize(leaves: pd.DataFrame, dims: list[str], real: str = "real", predict: str = "predict") -> list[Slice]:
    return _rank(leaves[real] - leaves[predict], leaves[predict].abs(), leaves, dims)


def localize_ratio(numerator_leaves: pd.DataFrame, denominator_leaves: pd.DataFrame, dims: list[str],
                   real: str = "real", predict: str = "predict") -> list[Slice]:
    rate = numerator_leaves[predict] / denominator_leaves[predict].where(denominator_leaves[predict] > 0)
    deviation = numerator_leaves[real] - rate.fillna(0.0) * denominator_leaves[real]
    return _rank(deviation, denominator_leaves[real], numerator_leaves, dims)
