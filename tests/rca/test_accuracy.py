"""Accuracy on generated datasets with a known answer: CX scenarios, and other domains the engine never saw.

Each dataset is generated once and analyzed end to end — metric cube, `detection.detect`, RCA — and
scored against its ``truth.json`` on the injection's primary metric: detected, localized exactly (the
incident's slices are the injected scope), and the injected cause ranked first (hypothesis and change
event, or driver feature when nothing was logged). Datasets with nothing injected must yield no
incident. Every injection's primary metric must also be detected once, in the injected direction, from
within a day of the injected start, with its scope (or a slice inside it) among the regression's slices.
Test seeds are 1-2 (1-3 with ``CXW_RCA_FULL_ACCURACY=1``; the full table: `benchmarks/rca_accuracy.py`);
the ranking model is calibrated on other seeds (`benchmarks/calibrate_rca.py`).
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from data.slices import parse_scope
from data.sources import open_workspace
from data.synthetic.cx import generate_cx
from data.synthetic.generic import DOMAINS, SCENARIOS as GENERIC_SCENARIOS, generate_domain
from backend.analysis import analyze_workspace
from rca.evaluation import score_injection

CX_SCENARIOS = ("batching_policy", "courier_shortage", "merchant_prep", "inventory_oos", "eta_model_regression",
                "platform_migration", "none")
FULL = bool(os.environ.get("CXW_RCA_FULL_ACCURACY"))  # the full table: benchmarks/rca_accuracy.py
CX_SEEDS = (1, 2, 3) if FULL else (1, 2)
CX_ORDERS = 150_000
GENERIC_SEEDS = (1, 2, 3) if FULL else (1, 2)
GENERIC_RECORDS = 100_000

_ROOT = Path(tempfile.mkdtemp(prefix="cxw-rca-accuracy-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)


@functools.cache
def _analysis(kind: str, scenario: str, seed: int):
    folder = _ROOT / f"{kind}-{scenario}-{seed}"
    if kind == "cx":
        generate_cx(CX_ORDERS, 28, seed, scenario, folder)
    else:
        generate_domain(kind, scenario, GENERIC_RECORDS, seed, folder)
    import json

    truth = json.loads((folder / "truth.json").read_text())
    result = analyze_workspace(open_workspace(folder / "workspace.yaml"), folder / "out", recommend=0)
    shutil.rmtree(folder / "records", ignore_errors=True)
    shutil.rmtree(folder / "orders", ignore_errors=True)
    return truth, result


def _describe(result) -> str:
    lines = []
    for inc in result.incidents[:8]:
        r = inc.regression
        top = inc.causes[0] if inc.causes else None
        lines.append(f"{r.metric} {r.start:%m-%d %H:%M} slices={[s.key for s in inc.slices]} "
                     f"top={(top.hypothesis, top.change_event, top.feature, top.confidence) if top else None}")
    return "\n".join(lines)


# Cases that missed in the integration run of detection + RCA (issue 4 is open on them): quarantined,
# not deleted, so they report XPASS once fixed. Remove an entry when its case passes.
KNOWN_MISSES: set = set()  # entries are (scenario, seed) or a domain; the five quarantined on 2026-11-21 pass
_known = pytest.mark.xfail(reason="known miss after integrating detection and RCA (issue 4)", strict=False)


def _cx_cases():
    return [pytest.param(sc, seed, marks=_known) if (sc, seed) in KNOWN_MISSES else (sc, seed)
            for sc in CX_SCENARIOS for seed in CX_SEEDS]


@pytest.mark.parametrize("scenario, seed", _cx_cases())
def test_cx_scenario(scenario, seed):
    truth, result = _analysis("cx", scenario, seed)
    if not truth["injections"]:
        assert not result.incidents, f"incidents on data with nothing injected:\n{_describe(result)}"
        return
    for injected in truth["injections"]:
        _assert_detected_as_injected(result, injected, scenario)
    injection = truth["injections"][0]
    s = score_injection(list(result.incidents), injection, scenario)
    context = f"truth {injection['cause']} in {injection['scope']}\n{_describe(result)}"
    assert s.detected, f"{s.metric} not detected\n{context}"
    assert s.cause_first, f"top cause {s.top} ({s.confidence}) is not the injected one\n{context}"
    assert s.localized, f"not localized to {injection['scope']}\n{context}"


def _assert_detected_as_injected(result, injection: dict, scenario: str) -> None:
    """The injection's primary metric is one regression: the injected direction, a start within a day of the
    injected one, and the scope (or a slice inside it) among its slices."""
    primary = injection["metrics"][0]
    found = [s.regression for inc in result.incidents for s in inc.all_symptoms if s.regression.metric == primary]
    assert len(found) == 1, f"{scenario}: one regression on {primary}, got {len(found)}\n{_describe(result)}"
    r = found[0]
    assert r.direction == injection["direction"][primary], f"{scenario}: {primary} went {r.direction}"
    assert abs(r.start - datetime.fromisoformat(injection["start"])) <= timedelta(days=1), f"{scenario}: {r.start}"
    for part in parse_scope(injection["scope"]):
        assert any(part.contains(t) for t in r.slices), f"{scenario}: {part.key} not among {[t.key for t in r.slices]}"


@pytest.mark.parametrize("domain", [pytest.param(d, marks=_known) if d in KNOWN_MISSES else d for d in sorted(DOMAINS)])
def test_other_domain(domain):
    """An unseen domain (other columns, metrics, grain, event kinds): aggregate accuracy over its scenarios."""
    scores, quiet_incidents = [], []
    for seed in GENERIC_SEEDS:
        for scenario in GENERIC_SCENARIOS:
            truth, result = _analysis(domain, scenario, seed)
            if not truth["injections"]:
                quiet_incidents += [f"{scenario}-{seed}: {i.regression.metric}" for i in result.incidents]
                continue
            scores.append(score_injection(list(result.incidents), truth["injections"][0], f"{scenario}-{seed}"))
    n = len(scores)
    detected = sum(s.detected for s in scores) / n
    first = sum(s.cause_first for s in scores) / n
    localized = sum(s.localized for s in scores) / n
    report = "\n".join(f"{s.scenario}: detected={s.detected} localized={s.localized} first={s.cause_first} top={s.top}"
                       for s in scores)
    assert not quiet_incidents, f"incidents on quiet data: {quiet_incidents}"
    assert detected >= 0.95, report
    assert first >= 0.9, report
    assert localized >= 0.8, report
