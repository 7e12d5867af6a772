"""One definition of a metric for every stage (`metrics.definitions`): on generated records with NULLs in a
dimension and in outcomes, the NULL slice and two composites (one with a down rate, one with a down mean
and a down ratio) read the same in the cube, the localization leaves, the RCA measures and panels, the
recommendation window sums and the question compiler — each equal to an answer computed with pandas."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from data.slices import Slice
from data.sources import open_workspace
from detection.leaves import Period, composite_leaves, leaf_sums
from metrics.cube import build_cube
from metrics.definitions import (
    NULL_LABEL, base_metrics, dimension_in, scope_predicate, slice_predicate, split_label,
)
from metrics.questions.compiler import compile_intent, run_query
from metrics.questions.intent import Filter, Intent, Measure
from metrics.questions.vocabulary import workspace_vocabulary
from rca.measures import Measures
from rca.panel import load_panel
from recommendations.records import window_stats
from tests.conftest import TINY_METRICS, tiny_records, write_workspace

COMPOSITES = {
    "score": {"on_time_rate": 0.6, "cancel_rate": 0.4},  # a down rate enters as 1 - value
    "balanced": {"on_time_rate": 0.5, "avg_minutes": 0.3, "refund_per_item": 0.2},  # down mean, down ratio: -value
}
METRICS = TINY_METRICS + [{"name": "balanced", "type": "composite", "weights": COMPOSITES["balanced"]}]
NULL_REGION = Slice((("region", NULL_LABEL),))
START, END = pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-04")
DAY = pd.Timestamp("2026-01-02")


class Truth:
    """Metric values over records, in pandas, from the workspace's definitions as written in `TINY_METRICS`."""

    def __init__(self, records: pd.DataFrame):
        self.d = records

    def sums(self, name: str, mask: pd.Series) -> tuple[float, float]:
        d = self.d[mask]
        if name == "on_time_rate":
            ok = d.delivered_at.notna()
            return float((d.delivered_at[ok] <= d.promised_at[ok]).sum()), float(ok.sum())
        if name == "avg_minutes":
            return float(d.minutes.dropna().sum()), float(d.minutes.notna().sum())
        if name == "refund_per_order":
            return float(d.refund.dropna().sum()), float(d.refund.notna().sum())
        if name == "refund_per_item":
            ok = d.refund.notna() & d["items"].notna()
            return float(d.refund[ok].sum()), float(d["items"][ok].sum())
        assert name == "cancel_rate"
        return float(d.cancelled.sum()), float(len(d))

    def value(self, name: str, mask: pd.Series) -> float:
        if name in COMPOSITES:
            weights = COMPOSITES[name]
            oriented = {"on_time_rate": lambda v: v, "cancel_rate": lambda v: 1.0 - v, "avg_minutes": lambda v: -v,
                        "refund_per_item": lambda v: -v}
            return sum(w / sum(weights.values()) * oriented[c](self.value(c, mask)) for c, w in weights.items())
        x, y = self.sums(name, mask)
        return x / y


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("definitions")
    records = tiny_records(900, seed=3)
    path = write_workspace(root / "ws", records, metrics=METRICS)
    spec = yaml.safe_load(path.read_text())
    spec["records"]["grain"] = "day"  # a composite's cube value is per bucket: one day holds enough records
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    ow = open_workspace(root / "ws")
    build_cube(ow, root / "cube")
    yield ow, pd.read_parquet(root / "cube" / "cube.parquet"), records
    ow.con.close()


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


NAMES = [m["name"] for m in METRICS]


def test_records_hold_nulls_in_the_dimension_and_in_outcomes(setup):
    _, _, records = setup
    assert 10 < records.region.isna().sum() < len(records) / 5
    assert records.delivered_at.isna().any() and records.refund.isna().any()


def test_the_cube_labels_a_null_value_as_its_own_slice(setup):
    _, cube, records = setup
    truth, null = Truth(records), records.region.isna()
    rows = cube[cube.slice == f"region={NULL_LABEL}"]
    for name in NAMES:
        if name in COMPOSITES:  # a composite's cube value is per bucket
            day = rows[(rows.metric == name) & (rows.ts == DAY)]
            in_day = null & (records.created_at >= DAY) & (records.created_at < DAY + pd.Timedelta(days=1))
            assert close(float(day.value.iloc[0]), truth.value(name, in_day)), name
            continue
        mine = rows[rows.metric == name]
        assert (mine.numerator.sum(), mine.denominator.sum()) == pytest.approx(truth.sums(name, null), rel=1e-9)
    assert int(rows[rows.metric == "on_time_rate"].n.sum()) == int(null.sum())


def test_localization_leaves_read_the_null_slice_and_composites_like_the_cube(setup):
    ow, _, records = setup
    ws, truth, null = ow.workspace, Truth(records), records.region.isna()
    metrics = base_metrics(ws, NAMES)
    sums = leaf_sums(ow, metrics, [Period(START.to_pydatetime(), END.to_pydatetime())])
    leaves = sums[sums.region == NULL_LABEL]
    assert int(leaves.n_0.sum()) == int(null.sum())
    for i, m in enumerate(metrics):
        assert (leaves[f"x_{i}_0"].sum(), leaves[f"y_{i}_0"].sum()) == pytest.approx(truth.sums(m.name, null), rel=1e-9)
    index = {m.name: i for i, m in enumerate(metrics)}
    dims = list(ws.records.dimensions)
    for name in COMPOSITES:
        additive = composite_leaves(sums, dims, ws, ws.metric(name), index, 0, 0).additive
        checked = 0
        for _, leaf in additive[additive.region == NULL_LABEL].iterrows():
            mask = null & (records.store == leaf.store) & (records.channel == leaf.channel)
            if all(truth.sums(c, mask)[1] > 0 for c in COMPOSITES[name]):  # else the leaf borrows its baseline
                assert close(leaf.real / mask.sum(), truth.value(name, mask)), (name, leaf.store, leaf.channel)
                checked += 1
        assert checked >= 3


def test_rca_measures_and_panels_select_the_null_slice_and_orient_composites_like_the_cube(setup):
    ow, _, records = setup
    truth, null = Truth(records), records.region.isna()
    measures = Measures.of(ow.workspace)
    frame = ow.con.execute(f"SELECT count(*) AS n, {', '.join(measures.sum_columns())} FROM "
                           f"(SELECT {', '.join(measures.record_columns())} FROM records "
                           f"WHERE {slice_predicate(NULL_REGION.filters)})").df()
    assert int(frame.n[0]) == int(null.sum())
    for name in NAMES:
        assert close(float(measures.value(frame, name)[0]), truth.value(name, null)), name
    panel = load_panel(ow, measures, (), ("region",), START.to_pydatetime(), END.to_pydatetime())
    assert int(panel.frame._n[panel.members((NULL_REGION,))].sum()) == int(null.sum())
    assert int(panel.frame._n[panel.members((Slice((("region", "north"),)), NULL_REGION))].sum()) == \
        int((null | (records.region == "north")).sum())


def test_recommendation_window_sums_match_the_null_slice_and_composites(setup):
    ow, _, records = setup
    truth, null = Truth(records), records.region.isna()
    stats = window_stats(ow, (NULL_REGION,), START.to_pydatetime(), END.to_pydatetime())
    assert stats.records == int(null.sum())
    for name in NAMES:
        assert close(stats.values[name], truth.value(name, null)), name


@pytest.mark.parametrize("name", ["on_time_rate", "refund_per_item", "score", "balanced"])
def test_the_question_compiler_groups_and_filters_the_null_slice_like_the_cube(setup, name):
    ow, _, records = setup
    truth, null = Truth(records), records.region.isna()
    vocab = workspace_vocabulary(ow)
    grouped = run_query(ow, compile_intent(Intent(measure=Measure(kind="metric", metric=name), group_by="region"),
                                           vocab, "created_at"))
    (row,) = [r for r in grouped if r.label == NULL_LABEL]
    assert row.records == int(null.sum()) and close(row.value, truth.value(name, null))
    assert sum(r.records for r in grouped) == len(records)  # every record is in one group
    filtered = Intent(measure=Measure(kind="metric", metric=name),
                      filters=(Filter(dimension="region", values=(NULL_LABEL, "north")),))
    (both,) = run_query(ow, compile_intent(filtered, vocab, "created_at"))
    mask = null | (records.region == "north")
    assert both.records == int(mask.sum()) and close(both.value, truth.value(name, mask))


def test_a_scope_predicate_is_never_null_so_its_negation_keeps_the_null_slice(setup):
    ow, _, records = setup
    count = lambda where: ow.con.execute(f"SELECT count(*) FROM records WHERE {where}").fetchone()[0]  # noqa: E731
    north = (Slice((("region", "north"),)),)
    assert count(f"NOT {scope_predicate(north)}") == int((records.region != "north").sum())  # NULLs included
    assert count(f"NOT {scope_predicate((NULL_REGION,))}") == int(records.region.notna().sum())
    pair = (Slice((("channel", "web"), ("region", NULL_LABEL))), Slice((("region", "south"),)))
    expected = (records.region.isna() & (records.channel == "web")) | (records.region == "south")
    assert count(scope_predicate(pair)) == int(expected.sum())
    assert count(f"NOT {scope_predicate(pair)}") == int((~expected).sum())


def test_bound_values_are_placeholders_in_order_and_labels_split_back():
    params: list[str] = []

    def bind(value: str) -> str:
        params.append(value)
        return "?"

    sql = dimension_in("region", ["b'x", NULL_LABEL, "a"], bind)
    assert sql == '("region" IS NULL OR CAST("region" AS VARCHAR) IN (?, ?))' and params == ["b'x", "a"]
    assert dimension_in("region", ["o'k"]) == """("region" IS NOT NULL AND CAST("region" AS VARCHAR) = 'o''k')"""
    assert split_label(f"channel=a&b&region={NULL_LABEL}", ["region", "channel"]) == \
        (("channel", "a&b"), ("region", NULL_LABEL))


ENGINE = ("data", "metrics", "detection", "rca", "recommendations", "backend")
OWNER = Path("metrics/definitions.py")
GUARDS = {  # each with a line of a copy that used to be there
    "the NULL label": (re.compile(r"""["']\(null\)["']"""), 'NULL_LABEL = "(null)"  # as in the metric cube'),
    "a metric's per-record SQL": (re.compile(r"\{[\w.]*\.(expr|numerator|denominator)\}\)? AS DOUBLE"),
                                  'x = f"CAST(({m.expr}) AS DOUBLE)"'),
    "a slice label": (re.compile(r"coalesce\(CAST\(.*NULL"),
                      'cols = [f"coalesce(CAST({quote(d)} AS VARCHAR), {sql_literal(NULL_LABEL)}) AS {quote(d)}"'),
    "a composite's orientation": (re.compile(r"""1(\.0)? - .*\.type == .rate. else [f"(]*-"""),
                                  'rb, rw = (1 - rb, 1 - rw) if c.type == "rate" else (-rb, -rw)'),
}


@pytest.mark.parametrize("what", GUARDS)
def test_no_stage_writes_a_metric_definition_of_its_own(what):
    """A second copy of a definition (grep over the engine's packages) outside `metrics/definitions.py`."""
    pattern, old_copy = GUARDS[what]
    assert pattern.search(old_copy)
    root = Path(__file__).parents[2]
    found = [f"{path.relative_to(root)}:{n}" for package in ENGINE for path in sorted((root / package).rglob("*.py"))
             if path.relative_to(root) != OWNER
             for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found, f"{what} written outside {OWNER}: {found}"
