"""Read incidents back from ``incidents.json``: find one by id, its experiment plan, or the incident itself.

The file is what `cxw analyze` writes: a list of incidents, or ``{"workspace": ..., "incidents": [...]}``.
An incident entry is the JSON form of `rca.types.Incident` (``regression``, ``causes``) and may carry
``recommendations`` (`RecommendationSet.to_dict()`) and ``experiment_plan``. Reading is tolerant of
slices written as text (``region=west``) or as objects, and of ISO timestamps.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from data.errors import UserError
from data.slices import Slice
from detection.types import Interval, Regression
from rca.types import Cause, Evidence, Incident
from recommendations.types import ExperimentPlan


def read_incidents(path: str | Path) -> tuple[dict, list[dict]]:
    """The document and its incident entries; a folder means its ``incidents.json``."""
    path = Path(path)
    if path.is_dir():
        path = path / "incidents.json"
    if not path.is_file():
        raise UserError(f"{path}: no such file (give incidents.json or the folder that holds it)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{path}: not valid JSON: {err}") from None
    entries = doc if isinstance(doc, list) else doc.get("incidents") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise UserError(f"{path}: expected a list of incidents or an object with 'incidents'")
    meta = doc if isinstance(doc, dict) else {}
    return {**meta, "_path": str(path)}, [e for e in entries if isinstance(e, dict)]


def entry_id(entry: dict) -> str | None:
    for key in ("id", "incident_id"):
        if entry.get(key):
            return str(entry[key])
    reg = entry.get("regression")
    return str(reg["id"]) if isinstance(reg, dict) and reg.get("id") else None


def find_entry(doc: dict, entries: list[dict], incident: str) -> dict:
    for e in entries:
        if entry_id(e) == incident:
            return e
    known = [i for i in (entry_id(e) for e in entries) if i]
    listing = ", ".join(known[:10]) + (" …" if len(known) > 10 else "") if known else "none"
    raise UserError(f"{doc['_path']}: no incident {incident!r} (incidents: {listing})")


def plan_of(entry: dict) -> ExperimentPlan | None:
    """The entry's experiment plan, at the top level or inside its recommendations."""
    plan = entry.get("experiment_plan")
    if not plan and isinstance(entry.get("recommendations"), dict):
        plan = entry["recommendations"].get("experiment_plan")
    if not plan:
        return None
    try:
        return ExperimentPlan.from_dict(plan)
    except (KeyError, TypeError, ValueError) as err:
        raise UserError(f"incident {entry_id(entry)}: experiment_plan is malformed ({err})") from None


def _ts(v: Any) -> datetime | None:
    if v in (None, ""):
        return None
    return v if isinstance(v, datetime) else datetime.fromisoformat(str(v).replace("Z", "+00:00")).replace(tzinfo=None)


def _when(v: Any) -> datetime:
    ts = _ts(v)
    if ts is None:
        raise ValueError("a regression needs its start and end")
    return ts


def _interval(v: Any) -> Interval | None:
    if isinstance(v, dict) and v.get("low") is not None and v.get("high") is not None:
        return Interval(float(v["low"]), float(v["high"]), float(v.get("level", 0.95)))
    if isinstance(v, (list, tuple)) and len(v) >= 2:
        return Interval(float(v[0]), float(v[1]))
    return None


def _slice(v: Any) -> Slice:
    if isinstance(v, Slice):
        return v
    if isinstance(v, str):
        return Slice.parse(v)
    if isinstance(v, dict):
        if "key" in v or "slice" in v:
            s = Slice.parse(str(v.get("key") or v.get("slice")))
        else:
            s = Slice(tuple(sorted((str(a), str(b)) for a, b in v.get("filters", ()))))
        return Slice(s.filters, float(v.get("share", 0.0) or 0.0), float(v.get("score", 0.0) or 0.0))
    if isinstance(v, (list, tuple)):
        return Slice(tuple(sorted((str(a), str(b)) for a, b in v)))
    raise ValueError(f"cannot read slice {v!r}")


def _scope(v: Any) -> tuple[Slice, ...]:
    if v in (None, "", "*"):
        return ()
    if isinstance(v, str):
        return tuple(Slice.parse(p) for p in v.split(";") if p.strip())
    return tuple(_slice(s) for s in v if s not in ("*", ""))


def _float(v: Any) -> float:
    return float("nan") if v is None else float(v)


def incident_from_dict(entry: dict) -> Incident:
    """An `Incident` from its JSON form (as `dataclasses.asdict` or `jsonable` writes it)."""
    try:
        r = entry["regression"]
        ci = _interval(r.get("change_interval")) or Interval(float("nan"), float("nan"))
        ri = _interval(r.get("relative_interval")) or Interval(float("nan"), float("nan"))
        reg = Regression(
            id=str(r["id"]), metric=r["metric"], direction=r.get("direction", "down"), start=_when(r["start"]),
            end=_when(r["end"]), baseline=_float(r.get("baseline")), current=_float(r.get("current")),
            change=_float(r.get("change")), change_interval=ci, relative_change=_float(r.get("relative_change")),
            relative_interval=ri, p_value=_float(r.get("p_value")), q_value=_float(r.get("q_value")),
            slice=_slice(r.get("slice") or "*"), slices=tuple(_slice(s) for s in r.get("slices") or ()),
            detectors=tuple(r.get("detectors") or ()), grain=r.get("grain", "hour"),
            baseline_start=_ts(r.get("baseline_start")), support=int(r.get("support") or 0))
        causes = []
        for c in entry.get("causes") or ():
            evidence = {}
            for name, e in (c.get("evidence") or {}).items():
                evidence[name] = Evidence(e.get("test", name), _float(e.get("effect")), _interval(e.get("interval")),
                                          None if e.get("p_value") is None else float(e["p_value"]),
                                          bool(e.get("supports")), e.get("detail") or {})
            causes.append(Cause(c["hypothesis"], c.get("change_event"), c.get("feature"), _scope(c.get("scope")),
                                float(c.get("confidence", 0.0)), evidence, c.get("summary", ""),
                                tuple(c.get("remediation_tags") or ())))
        return Incident(reg, tuple(causes), bool(entry.get("inconclusive", False)))
    except (KeyError, TypeError, ValueError) as err:
        raise UserError(f"incident {entry_id(entry)}: cannot read it back ({type(err).__name__}: {err})") from None
