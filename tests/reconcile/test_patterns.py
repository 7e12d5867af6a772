"""Slice evidence of mismatch patterns: the localizer's slice narrowed to the part that holds the records."""

from __future__ import annotations

import itertools

import pandas as pd

from detection.mismatch import Pattern, _classify, _tighten


def _leaves(hit: dict[tuple[str, str], int], n: int = 400) -> pd.DataFrame:
    rows = [{"d0": r, "d1": t, "n": n, "k": hit.get((r, t), 0)}
            for r, t in itertools.product(["north", "south", "east", "west"], ["T1", "T2", "T3", "T4"])]
    return pd.DataFrame(rows)


def test_a_parent_slice_is_narrowed_to_the_child_holding_the_records():
    leaves = _leaves({("north", "T3"): 400})
    filters, mask = _tighten(leaves, ["d0", "d1"], [("d1", "T3")])
    assert filters == [("d1", "T3"), ("d0", "north")] and mask.sum() == 1


def test_a_slice_whose_records_spread_over_its_children_stays():
    leaves = _leaves({(r, "T3"): 100 for r in ("north", "south", "east", "west")})
    filters, mask = _tighten(leaves, ["d0", "d1"], [("d1", "T3")])
    assert filters == [("d1", "T3")] and mask.sum() == 4


def test_classification_systematic_with_evidence_and_isolated_when_spread():
    pattern = Pattern(label="product: A → B", kind="value", column="product", records=400, customers=400,
                      mismatches=400, amount=0.0)
    systematic = _classify(pattern, _leaves({("north", "T3"): 400}), ["d0", "d1"], ["region", "tariff"])
    assert systematic.classification == "systematic"
    top = systematic.slices[0]
    assert top.slice == "region=north&tariff=T3"
    assert (top.affected, top.population, top.rest_affected, top.rest_population) == (400, 400, 0, 6000)
    spread = {cell: 5 for cell in itertools.product(["north", "south", "east", "west"], ["T1", "T2", "T3", "T4"])}
    isolated = _classify(pattern, _leaves(spread), ["d0", "d1"], ["region", "tariff"])
    assert isolated.classification == "isolated" and "spread over region, tariff" in isolated.evidence
