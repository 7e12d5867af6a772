"""`rca.analyze` and `cxw analyze`: the incidents.json contract, the report, errors as one line."""

from __future__ import annotations

import json

import pytest

from backend.cli import main
from data.sources import open_workspace
from data.synthetic.generic import generate_domain
from rca.analyze import analyze
from rca.evaluation import regressions_from_truth


@pytest.fixture(scope="module")
def saas(tmp_path_factory):
    folder = tmp_path_factory.mktemp("saas") / "ws"
    truth = generate_domain("saas-api", "mediated_change", 60_000, 11, folder)
    return folder, truth


def test_analyze_writes_the_contract(saas, tmp_path):
    folder, truth = saas
    ow = open_workspace(folder / "workspace.yaml")
    result = analyze(ow, tmp_path / "out", regressions=regressions_from_truth(truth, "hour", ["success_rate"]))
    doc = json.loads((tmp_path / "out" / "incidents.json").read_text())
    assert [p.name for p in result.files] == ["incidents.json", "report.md"]
    assert not list((tmp_path / "out").glob(".*"))  # no temporary files left behind
    inc = doc["incidents"][0]
    for key in ("id", "metric", "direction", "start", "end", "baseline", "current", "slices", "causes"):
        assert key in inc
    assert ";".join(s["slice"] for s in inc["slices"]) == truth["injections"][0]["scope"]
    top = inc["causes"][0]
    assert (top["hypothesis"], top["change_event"], top["feature"]) == ("change_event", "gateway_upgrade",
                                                                         "gateway_version")
    assert 0.5 <= top["confidence"] <= 1.0
    assert {"did", "timing", "scope", "shap"} <= set(top["evidence"])
    did = top["evidence"]["did"]
    assert did["interval"]["low"] <= did["effect"] <= did["interval"]["high"] and did["p_value"] < 1e-3
    report = (tmp_path / "out" / "report.md").read_text()
    assert "gateway_upgrade" in report and "Cause 1" in report


def test_no_regressions_no_incidents(saas, tmp_path):
    folder, _ = saas
    result = analyze(folder / "workspace.yaml", tmp_path / "out", regressions=[])
    assert result.incidents == ()
    assert "No regression was detected" in (tmp_path / "out" / "report.md").read_text()


def test_cxw_analyze_end_to_end(saas, tmp_path, capsys):
    folder, truth = saas
    code = main(["analyze", str(folder / "workspace.yaml"), "--out", str(tmp_path / "out"), "--recommend", "0"])
    assert code == 0, capsys.readouterr().err
    doc = json.loads((tmp_path / "out" / "incidents.json").read_text())
    assert doc["incidents"], "the injected regression is found"
    assert doc["incidents"][0]["causes"][0]["change_event"] == "gateway_upgrade"


@pytest.mark.parametrize("args, message", [
    (["analyze", "/nonexistent/workspace.yaml", "--out", "x"], "workspace file not found"),
])
def test_user_errors_are_one_line(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_unknown_metric_is_a_user_error(saas, tmp_path, capsys):
    folder, _ = saas
    code = main(["analyze", str(folder), "--out", str(tmp_path / "o"), "--metric", "nope"])
    assert code == 2
    assert "--metric 'nope' is not a metric" in capsys.readouterr().err
