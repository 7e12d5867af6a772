"""A change logged as several rows under one name is one change rolled out in waves: the workspace
accepts it, the staggered DiD treats each wave's scope from its own time, and the analysis of
`cxw analyze` finds it with the known effect inside its interval."""

from __future__ import annotations

import json

import pytest

from backend.analysis import analyze_workspace
from backend.cli import main
from data.changes import change_waves
from data.slices import scope_text
from data.sources import open_workspace
from rca.candidates import event_candidates
from rca.evidence.did import fit_did
from rca.measures import Measures
from rca.panel import load_panel
from recommendations.impact import did_estimates, staggered_did_estimates
from tests.rca.helpers import T0, at_day, panel_records, write_workspace

EFFECT = 0.5  # y_mean rises by 0.5 in each wave's group from the wave's time (good is down: a regression)
WAVES = (("g0", 15), ("g1", 17), ("g2", 19))  # g3 is never treated


@pytest.fixture(scope="module")
def rollout(tmp_path_factory):
    effects = {lambda u, g, grp=grp: g == grp: (day, lambda d: EFFECT + 0 * d) for grp, day in WAVES}
    records = panel_records(seed=5, days=24, per_hour=1, effects=effects)
    changes = [(at_day(day), "acquirer_cutover", "migration", f"grp={grp}") for grp, day in WAVES]
    changes.append((at_day(16.5), "web_release", "release", "side=b"))  # a decoy
    return write_workspace(tmp_path_factory.mktemp("waves") / "ws", records, changes=changes)


def test_rows_sharing_a_name_are_the_waves_of_one_change(rollout):
    ow = open_workspace(rollout)
    waves = change_waves(ow.changes)["acquirer_cutover"]
    assert [(scope_text(w.scope), w.ts) for w in waves] == [(f"grp={g}", at_day(d)) for g, d in WAVES]
    (cand,) = [c for c in event_candidates(ow.changes, at_day(14), at_day(24)) if c.key == "acquirer_cutover"]
    assert cand.staggered and [c.start for c in cand.cohorts] == [at_day(d) for _, d in WAVES]


def test_the_staggered_did_recovers_the_known_effect(rollout):
    ow = open_workspace(rollout)
    ms = Measures.of(ow.workspace)
    (cand,) = [c for c in event_candidates(ow.changes, at_day(14), at_day(24)) if c.key == "acquirer_cutover"]
    panel = load_panel(ow, ms, ("unit",), ("grp",), T0, at_day(24))
    fit = fit_did(panel, ms, "y_mean", list(cand.cohorts), pre=5, post=5)
    assert fit.interval.contains(EFFECT) and fit.p_value < 1e-6
    # a wave's units are compared with units not yet treated in its window and the never-treated g3 only
    assert fit.treated_units == 90


def test_analyze_names_the_rolled_out_change_with_its_waves(rollout, tmp_path):
    result = analyze_workspace(rollout, tmp_path / "out", recommend=0)
    assert result.incidents, "the roll-out's regression is detected"
    top = result.incidents[0].causes[0]
    assert top.change_event == "acquirer_cutover" and top.events == ("acquirer_cutover",)
    assert top.onset == at_day(15)
    did = top.evidence["did"]
    assert did.interval.contains(EFFECT), did
    assert [c.start for c in did.detail.cohorts] == [at_day(d) for _, d in WAVES]
    timing = top.evidence["timing"]
    # timed by the first wave where it went live (g0 against the never-treated g3): on time
    assert timing.detail.candidate_time == at_day(15) and timing.detail.onset_scope == "grp=g0"
    assert timing.supports and abs(timing.effect) <= 2, timing
    doc = json.loads((tmp_path / "out" / "incidents.json").read_text())
    assert doc["incidents"][0]["causes"][0]["change_event"] == "acquirer_cutover"


def test_validate_accepts_waves(rollout, capsys):
    assert main(["validate", str(rollout)]) == 0, capsys.readouterr().err


def test_a_name_reused_with_another_kind_is_one_line_naming_file_and_rows(rollout, tmp_path, capsys):
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "records").symlink_to(rollout.parent / "records")
    (folder / "workspace.yaml").write_text(rollout.read_text())
    (folder / "changes.csv").write_text("ts,name,kind,scope,description\n"
                                        "2026-02-17T00:00:00,acquirer_cutover,migration,grp=g0,wave 1\n"
                                        "2026-02-18T00:00:00,web_release,release,*,x\n"
                                        "2026-02-19T00:00:00,acquirer_cutover,policy,grp=g1,wave 2\n")
    for command in (["validate", str(folder / "workspace.yaml")],
                    ["analyze", str(folder / "workspace.yaml"), "--out", str(tmp_path / "out")]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "changes.csv lines 2, 4" in err and "'acquirer_cutover'" in err, err
        assert "'migration' (line 2) and 'policy' (line 4)" in err, err
    assert not (tmp_path / "out").exists()


def test_recommendations_estimate_each_wave_from_its_own_time(rollout):
    """The impact DiD of undoing the change, wave by wave against the never-treated g3 (Callaway &
    Sant'Anna), recovers the effect; one DiD dated at the first wave over all the waves' scope counts the
    later waves' untreated days as treated: over its 9 days after, 0.5 × (9 + 7 + 5) / 27."""
    ow = open_workspace(rollout)
    waves = change_waves(ow.changes)["acquirer_cutover"]
    union = tuple(s for w in waves for s in w.scope)
    staggered = staggered_did_estimates(ow, union, [(w.scope, w.ts) for w in waves], at_day(24), T0)["y_mean"]
    assert staggered.interval.contains(EFFECT), staggered
    pooled = did_estimates(ow, union, waves[0].ts, at_day(24), T0)["y_mean"]
    assert abs(pooled.value - EFFECT * 21 / 27) < 0.05, pooled
    assert abs(staggered.value - EFFECT) < 0.05, staggered


def test_recommending_for_a_roll_out_estimates_it_wave_by_wave(rollout, tmp_path):
    result = analyze_workspace(rollout, tmp_path / "out", recommend=1)
    entry = result.document["incidents"][0]
    assert entry["recommendation_status"] == "recommended", entry.get("recommendation_notes")
    top = entry["recommendations"][0]
    assert top["change_event"] == "acquirer_cutover"
    impact = next(i for i in top["impact"]["metrics"] if i["metric"] == "y_mean")
    assert impact["interval"]["low"] <= -EFFECT <= impact["interval"]["high"], impact
    did = next(e for e in impact["estimates"] if e["method"] == "did")
    assert did["note"].startswith("3 waves") and did["interval"]["low"] <= -EFFECT <= did["interval"]["high"], did
    model = next(e for e in impact["estimates"] if e["method"] == "model")
    assert model["interval"]["high"] < 0, model  # switching every wave's treatment off lowers y
