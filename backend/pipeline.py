"""The one seam between the service and the analysis stages.

`analyze_workspace` runs detection and root-cause analysis for a workspace and returns its incidents
as the incidents.json structure (a list of dicts: metric, direction, start, end, baseline, current,
slice, slices, causes with evidence, recommendations, experiment_plan). It calls `rca.analyze` when the
RCA stage is installed and raises `NotImplementedYet` (HTTP 501, CLI one line) when it is not.
`whatif` does the same for `recommendations.whatif`. Tests inject their own pipeline function; the job
and the API call these.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from backend.errors import NotImplementedYet

PipelineFn = Callable[..., list[dict]]


def _stage_function(module: str, name: str, what: str) -> Callable[..., Any]:
    try:
        mod = __import__(module, fromlist=[name])
        fn = getattr(mod, name)
    except (ImportError, AttributeError):
        raise NotImplementedYet(f"{what} needs {module}.{name}, which is not installed in this build yet") from None
    if inspect.ismodule(fn):  # `rca/analyze.py` holding `def analyze`
        fn = getattr(fn, name, None)
    if not callable(fn):
        raise NotImplementedYet(f"{what} needs {module}.{name}, which is not installed in this build yet")
    return fn


def _call(fn: Callable[..., Any], positional: tuple, **candidates: Any) -> Any:
    """Call ``fn`` with the candidate keyword arguments it accepts (the stages' signatures are theirs)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return fn(*positional)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return fn(*positional, **{k: v for k, v in candidates.items() if v is not None})
    return fn(*positional, **{k: v for k, v in candidates.items() if k in params and v is not None})


def _plain(value: Any) -> Any:
    """Dataclasses, pydantic models, tuples, datetimes and slices → JSON-shaped Python."""
    if hasattr(value, "model_dump"):
        return _plain(value.model_dump(mode="json"))
    if hasattr(value, "key") and hasattr(value, "filters"):  # data.slices.Slice
        return value.key
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def incident_from_rca(inc: Any) -> dict:
    """An `rca.types.Incident` as an incidents.json entry."""
    reg = inc.regression

    def evidence(ev: Any) -> dict:
        interval = [ev.interval.low, ev.interval.high] if ev.interval is not None else None
        return {"effect": ev.effect, "interval": interval, "p_value": ev.p_value, "supports": ev.supports,
                "test": ev.test, **_plain(ev.detail)}

    return {
        "id": reg.id, "metric": reg.metric, "direction": reg.direction, "start": reg.start.isoformat(),
        "end": reg.end.isoformat(), "baseline": reg.baseline, "current": reg.current, "slice": reg.slice.key,
        "slices": [{"slice": s.key, "share": s.share} for s in reg.slices],
        "causes": [{"hypothesis": c.hypothesis, "change_event": c.change_event, "feature": c.feature,
                    "confidence": c.confidence, "summary": c.summary,
                    "scope": [s.key for s in c.scope], "remediation_tags": list(c.remediation_tags),
                    "evidence": {name: evidence(ev) for name, ev in c.evidence.items()}} for c in inc.causes],
        "recommendations": [], "experiment_plan": None, "inconclusive": inc.inconclusive,
        "change": reg.change, "change_interval": [reg.change_interval.low, reg.change_interval.high],
        "relative_change": reg.relative_change, "p_value": reg.p_value, "q_value": reg.q_value,
        "grain": reg.grain, "support": reg.support,
    }


def incidents_from(result: Any, out_dir: Path | None) -> list[dict]:
    """Normalise what the RCA stage returned (or wrote to ``out_dir/incidents.json``) to a list of dicts."""
    if result is None and out_dir is not None and (out_dir / "incidents.json").is_file():
        result = json.loads((out_dir / "incidents.json").read_text())
    if hasattr(result, "incidents") and not isinstance(result, dict):
        result = result.incidents
    if isinstance(result, dict):
        result = result.get("incidents", [])
    if result is None:
        return []
    out = []
    for item in result:
        if hasattr(item, "regression") and hasattr(item, "causes"):
            out.append(incident_from_rca(item))
        else:
            out.append(_plain(item))
    return out


def analyze_workspace(workspace: Path, *, since: datetime | None = None, cube_dir: Path | None = None,
                      out_dir: Path | None = None) -> list[dict]:
    """Run detection and RCA (``rca.analyze``) on a workspace; the incidents as incidents.json entries."""
    analyze = _stage_function("rca", "analyze", "detection and root-cause analysis")
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    result = _call(analyze, (workspace,), out=out_dir, out_dir=out_dir, since=since, cube_dir=cube_dir,
                   cube=cube_dir)
    return incidents_from(result, out_dir)


def whatif(workspace: Path, changes: list[dict], scope: str = "*", *, window_days: float = 7.0,
           model: str | None = None, bootstrap: int | None = None) -> dict:
    """Predicted change of every metric when drivers change in ``scope`` (``recommendations.whatif``).

    ``changes`` are ``{"feature", "op": set|scale|shift, "value"}``; the answer is the stage's
    `WhatIfResult` as JSON (each metric's change with its 95% interval, the tradeoff, the model used).
    """
    fn = _stage_function("recommendations", "whatif", "what-if analysis")
    try:
        from recommendations import DriverChange
    except ImportError:
        raise NotImplementedYet("what-if analysis needs recommendations.DriverChange, which is not installed in "
                                "this build yet") from None
    from data.sources import open_workspace

    drivers = [DriverChange(c["feature"], c["op"], c.get("value")) for c in changes]
    ow = open_workspace(workspace)
    try:
        result = fn(ow, drivers, scope, window_days=window_days, model=model, bootstrap=bootstrap)
    finally:
        ow.con.close()
    plain = result.to_dict() if hasattr(result, "to_dict") else _plain(result)
    return plain if isinstance(plain, dict) else {"result": plain}
