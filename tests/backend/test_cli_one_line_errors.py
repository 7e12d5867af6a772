"""Mistakes that used to end in a traceback, or be silently accepted, are one line and exit 2; `cxw validate`
refuses what `cxw analyze` would refuse, through the same validators."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backend.cli import main
from tests.conftest import tiny_records, write_workspace


def month_records() -> pd.DataFrame:
    """The tiny records spread over four weeks, enough for detection's baseline and window."""
    frame = tiny_records(3000)
    rng = np.random.default_rng(1)
    frame["created_at"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 28 * 24 * 60, len(frame)),
                                                                        unit="min")
    frame["nulls"] = np.nan
    frame["late"] = np.where(frame["created_at"] > pd.Timestamp("2026-01-25"), 1.0, np.nan)
    return frame


def one_line(capsys, code: int) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


@pytest.fixture
def month(tmp_path) -> Path:
    return write_workspace(tmp_path / "ws", month_records())


def test_the_month_workspace_is_valid(month, capsys):
    assert main(["validate", str(month)]) == 0


@pytest.mark.parametrize("metric, words", [
    ({"name": "m", "type": "mean", "expr": "nulls"}, "is NULL in every record"),
    ({"name": "m", "type": "rate", "expr": "nulls > 1"}, "is NULL in every record"),
    ({"name": "m", "type": "ratio", "numerator": "refund", "denominator": "0"},
     "sums to 0"),
    ({"name": "m", "type": "ratio", "numerator": "refund", "denominator": "items * 0"},
     "sums to 0"),
])
def test_a_metric_without_any_value_is_one_line_in_validate_and_analyze(tmp_path, capsys, metric, words):
    path = write_workspace(tmp_path / "ws", month_records(), metrics=[metric])
    assert words in one_line(capsys, main(["validate", str(path)]))
    assert words in one_line(capsys, main(["analyze", str(path), "--out", str(tmp_path / "out")]))
    assert not (tmp_path / "out").exists()


def test_a_metric_without_values_in_the_baseline_is_one_line_in_analyze(tmp_path, capsys):
    path = write_workspace(tmp_path / "ws", month_records(), metrics=[{"name": "m", "type": "mean", "expr": "late"}])
    err = one_line(capsys, main(["analyze", str(path), "--out", str(tmp_path / "out")]))
    assert "metrics.m: no record of the baseline period has a value" in err


@pytest.mark.parametrize("section, words", [
    ({"detection": {"bogus": 1}}, "detection.bogus: unknown key"),
    ({"detection": {"baseline_days": "abc"}}, "detection.baseline_days: Input should be a valid number"),
    ({"detection": {"baseline_days": 40}}, "detection.baseline_days: 40 leaves no window"),
    ({"rca": {"nope": 2}}, "rca.nope: unknown key"),
    ({"rca": {"max_causes": "many"}}, "rca.max_causes: 'many' is not a valid value"),
    ({"rca": {"hypotheses": [{"id": "h", "description": "x", "colour": 1}]}}, "colour: unknown key"),
    ({"recommendations": {"zzz": 3}}, "recommendations.zzz: unknown key"),
    ({"recommendations": {"actions": [{"id": "a", "lever": "set_feature", "feature": "nope", "value": 1}]}},
     "recommendations.actions.a.title: required key is missing"),
])
def test_validate_refuses_what_analyze_refuses(tmp_path, capsys, section, words):
    path = write_workspace(tmp_path / "ws", month_records(), **section)
    err = one_line(capsys, main(["validate", str(path)]))
    assert words in err
    assert one_line(capsys, main(["analyze", str(path), "--out", str(tmp_path / "out")])) == err


def test_empty_change_log_is_one_line(month, capsys):
    (month.parent / "changes.csv").write_text("")
    err = one_line(capsys, main(["validate", str(month)]))
    assert "changes.path: changes.csv: the file is empty; it needs the header row ts,name,kind,scope" in err


@pytest.mark.parametrize("args, words", [
    (["--seed", "-1"], "--seed must be 0 or more (got -1)"),
    (["--start", "9999-12-28"], "--start 9999-12-28 with --days 28 runs past the last date (9999-12-31)"),
])
def test_generate_argument_mistakes_are_one_line(tmp_path, capsys, args, words):
    code = main(["generate", "cx", "--out", str(tmp_path / "g"), "--orders", "100", "--scenario", "none", *args])
    assert words in one_line(capsys, code)
    assert not (tmp_path / "g").exists()


def test_bad_memory_limit_is_one_line(month, tmp_path, capsys):
    err = one_line(capsys, main(["metrics", str(month), "--out", str(tmp_path / "cube"), "--memory-limit", "abc"]))
    assert "--memory-limit 'abc': Memory must have a number" in err
    assert not (tmp_path / "cube").exists()


def test_negative_max_incidents_is_refused(month, tmp_path, capsys):
    code = main(["analyze", str(month), "--out", str(tmp_path / "out"), "--max-incidents", "-1"])
    err = capsys.readouterr().err
    assert code == 2 and "--max-incidents" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    from backend.analysis import analyze_workspace
    from data.errors import UserError
    from rca.analyze import analyze

    with pytest.raises(UserError, match="--max-incidents must be 0 or more"):
        analyze_workspace(month, max_incidents=-1)
    with pytest.raises(UserError, match="--max-incidents must be 0 or more"):
        analyze(month, regressions=[], max_incidents=-1)


def test_an_unknown_whatif_model_is_one_line_naming_the_models(tmp_path, capsys):
    err = one_line(capsys, main(["whatif", str(tmp_path / "ws"), "--set", "x=1", "--model", "forest"]))
    assert err == "error: --model 'forest': use lightgbm or glm"
