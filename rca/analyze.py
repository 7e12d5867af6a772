"""`analyze`: explain a workspace's detected regressions, with stage timings; optionally written to a folder.

The regressions come from the detection stage; later stages (recommendations) are not imported here — the
composition (`backend.analysis.analyze_workspace`, the one path the CLI, the job and the API run) adds them
through ``enrich``, a function that adds entries to each incident's JSON.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from data.errors import UserError
from data.narrative import TEMPLATES, Narrator
from data.sources import OpenWorkspace, open_workspace
from detection.types import Regression
from rca.engine import RcaOptions, explain
from rca.grouping import group_by_cause
from rca.measures import Measures
from rca.report import dismissed as dismissed_report
from rca.report import incidents_document, render_markdown, severity, write_outputs
from rca.scoped import scope_changes
from rca.types import Incident


@dataclass(frozen=True)
class Analysis:
    """What `analyze` found: the incidents (one per cause, most severe first; `rca.grouping`) and how long
    each stage took. Regressions that RCA dismissed as unconfirmed are listed in ``document["dismissed"]``,
    not among the incidents."""

    workspace: str
    incidents: tuple[Incident, ...]
    regressions: int
    timings: dict[str, float] = field(default_factory=dict)
    document: dict = field(default_factory=dict, compare=False)
    files: tuple[Path, ...] = ()


def analyze(workspace: str | Path | OpenWorkspace, out: str | Path | None = None, *,
            regressions: list[Regression], metrics: list[str] | None = None, max_incidents: int = 20,
            options: RcaOptions | None = None, enrich: Callable[[OpenWorkspace, Incident, dict], dict] | None = None,
            timings: dict[str, float] | None = None, narrate: Narrator = TEMPLATES) -> Analysis:
    """Explain ``regressions`` of ``workspace``; write ``out/incidents.json`` and ``out/report.md`` when
    ``out`` is given.

    ``metrics`` keeps only those metrics' regressions (names the caller checked); at most ``max_incidents`` (the most severe) are
    explained. ``enrich(ow, incident, incident_json)`` may return extra keys for an incident's JSON (for
    example recommendations; a ``recommendations_markdown`` key is rendered into the report); when it has
    a ``prepare(ow, incidents)`` method, that is called once first with every incident, in report order.
    ``timings`` are earlier stages' seconds, reported before this stage's. ``narrate`` words the report's
    narrative paragraphs (`rca.report.render_markdown`; default: the templates' text).
    """
    if max_incidents < 0:
        raise UserError(f"--max-incidents must be 0 or more (got {max_incidents})")
    timings = dict(timings or {})
    clock = time.perf_counter()
    ow = workspace if isinstance(workspace, OpenWorkspace) else open_workspace(workspace)
    ws = ow.workspace
    timings["open"] = timings.get("open", 0.0) + time.perf_counter() - clock
    found = len(regressions)
    if metrics:
        regressions = [r for r in regressions if r.metric in metrics]
    # explain the most severe first (the same order as the report)
    stub = [Incident(r, ()) for r in regressions]
    regressions = [i.regression for i in sorted(stub, key=lambda i: -severity(i))][:max_incidents]

    clock = time.perf_counter()
    incidents = explain(ow, regressions, options)
    timings["rca"] = time.perf_counter() - clock

    dismissed = [i for i in incidents if i.dismissed]
    measures = Measures.of(ws)
    incidents = group_by_cause([i for i in incidents if not i.dismissed], severity,
                               lambda group, scope: [replace(i, measured=m) for i, m in
                                                     zip(group, scope_changes(ow, group, scope, measures), strict=True)])
    doc = incidents_document(incidents, ws, {"regressions_detected": found, "dismissed": [
        dismissed_report(i).model_dump(mode="json") for i in dismissed]})
    if enrich is not None:
        clock = time.perf_counter()
        by_id = {i.regression.id: i for i in incidents}
        if hasattr(enrich, "prepare"):  # shares work across incidents (e.g. one outcome model for all)
            enrich.prepare(ow, [by_id[entry["id"]] for entry in doc["incidents"]])
        for entry in doc["incidents"]:
            entry.update(enrich(ow, by_id[entry["id"]], entry) or {})
        timings["recommendations"] = time.perf_counter() - clock
    doc["timings_seconds"] = {k: round(v, 3) for k, v in timings.items()}
    files: tuple[Path, ...] = ()
    markdown = render_markdown(doc, ws, narrate) if out is not None else ""
    for entry in doc["incidents"]:
        entry.pop("recommendations_markdown", None)  # in report.md; the JSON keeps the structured form
    if out is not None:
        files = write_outputs(Path(out), doc, markdown)
    ordered = tuple(sorted(incidents, key=lambda i: (-severity(i), i.regression.metric, i.regression.id)))
    return Analysis(ws.name, ordered, found, timings, doc, files)
