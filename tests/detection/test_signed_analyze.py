"""`cxw analyze` on a workspace whose mean metric is signed (a latency against its target: early is
negative) runs to the end and localizes the regression of that metric like the unsigned one."""

from __future__ import annotations

import json

import pytest
import yaml

from backend.cli import main
from data.synthetic.generic import generate_domain


@pytest.fixture(scope="module")
def signed_workspace(tmp_path_factory):
    folder = tmp_path_factory.mktemp("signed") / "ws"
    truth = generate_domain("saas-api", "scoped_change", 60_000, 11, folder)
    spec = yaml.safe_load((folder / "workspace.yaml").read_text())
    spec["metrics"].append({"name": "latency_vs_target_ms", "type": "mean", "expr": "latency_ms - 110",
                            "good": "down", "unit": "ms"})
    (folder / "workspace.yaml").write_text(yaml.safe_dump(spec))
    return folder, truth


def test_cxw_analyze_localizes_a_signed_mean_metric(signed_workspace, tmp_path, capsys):
    folder, truth = signed_workspace
    out = tmp_path / "out"
    code = main(["analyze", str(folder / "workspace.yaml"), "--out", str(out), "--recommend", "0"])
    err = capsys.readouterr().err
    assert code == 0 and "Traceback" not in err, err
    incidents = json.loads((out / "incidents.json").read_text())["incidents"]
    scope = truth["injections"][0]["scope"]
    # one cause moved both latency metrics: one incident, the signed one and the plain mean among its symptoms
    [signed] = [inc for inc in incidents if "latency_vs_target_ms" in {s["metric"] for s in inc["symptoms"]}]
    symptom = {s["metric"]: s for s in signed["symptoms"]}
    assert "mean_latency_ms" in symptom
    assert symptom["latency_vs_target_ms"]["direction"] == "up"
    assert signed["localized_slices"][0]["slice"] == scope
