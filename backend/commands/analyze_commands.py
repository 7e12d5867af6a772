"""`cxw analyze`: metrics → detect → root causes (→ recommendations when that stage is installed)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from backend.cli import app
from data.sources import OpenWorkspace
from rca.analyze import analyze
from rca.report import jsonable
from rca.types import Incident

console = Console(stderr=True)


def _recommender():
    """`recommendations.recommend` and its Markdown renderer, or None while that stage is not installed."""
    try:
        from recommendations import recommend  # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        from recommendations import render_markdown  # type: ignore[attr-defined]
    except ImportError:
        render_markdown = None
    return recommend, render_markdown


def _enrich_with_recommendations(top: int):
    """Recommendations for the ``top`` most severe conclusive incidents; incidents whose top cause is one
    already handled point to that incident instead of recomputing the same fix."""
    found = _recommender()
    if found is None:
        return None
    recommend, render = found
    done: dict[tuple, str] = {}

    def enrich(ow: OpenWorkspace, incident: Incident, entry: dict) -> dict:
        if incident.inconclusive or not incident.causes:
            return {}
        cause = incident.causes[0]
        key = (cause.hypothesis, cause.change_event, cause.feature)
        if key in done:
            return {"recommendations_ref": done[key],
                    "recommendations_markdown": f"### Recommendations\n\nSame cause as incident {done[key]}: "
                                                f"see its recommendations."}
        if len(done) >= top:
            return {}
        done[key] = incident.regression.id
        recset = recommend(ow, incident, incident_id=incident.regression.id)
        full = recset.to_dict() if hasattr(recset, "to_dict") else jsonable(recset)
        # The incidents.json contract: `recommendations` (a list) and `experiment_plan` per incident.
        extra = {"recommendations": full.get("recommendations", []), "experiment_plan": full.get("experiment_plan"),
                 "pm_summary": full.get("pm_summary"), "pm_table": full.get("pm_table"),
                 "recommendation_notes": full.get("notes", [])}
        if render is not None:
            extra["recommendations_markdown"] = render(recset, heading_level=3)
        return extra

    return enrich


@app.command("analyze")
def analyze_command(
    workspace: Annotated[Path, typer.Argument(help="Workspace YAML file (or its folder).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for incidents.json and report.md.")],
    cube: Annotated[Path, typer.Option("--cube", help="Reuse this cube.parquet instead of building one.")] = None,
    metric: Annotated[list[str], typer.Option("--metric", help="Only this metric (repeatable).")] = None,
    max_incidents: Annotated[int, typer.Option("--max-incidents", help="Explain at most this many.")] = 20,
    recommend: Annotated[int, typer.Option("--recommend", help="Recommend actions for the causes of the N most "
                                                               "severe conclusive incidents (0: none).")] = 2,
) -> None:
    """Detect regressions, explain each with ranked causes and evidence, and write the report."""
    enrich = _enrich_with_recommendations(recommend) if recommend > 0 else None
    result = analyze(workspace, out, cube=cube, metrics=metric or None, max_incidents=max_incidents, enrich=enrich)
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    console.print(f"[bold]{len(result.incidents)}[/bold] incident(s) from {result.regressions} regression(s) "
                  f"({stages}) → {out / 'incidents.json'}, {out / 'report.md'}")
    if not result.incidents:
        return
    table = Table(show_lines=False)
    for col in ("metric", "where", "change", "top cause", "confidence"):
        table.add_column(col)
    for inc in result.incidents[:15]:
        r = inc.regression
        where = ", ".join(s.key for s in inc.slices[:3])
        top = inc.causes[0] if inc.causes else None
        cause = "inconclusive" if inc.inconclusive or top is None else (
            f"{top.hypothesis}: {top.change_event or top.feature}")
        table.add_row(r.metric, where, f"{r.relative_change:+.1%}", cause, f"{top.confidence:.0%}" if top else "—")
    console.print(table)
