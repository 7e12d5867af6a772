"""`cxw analyze`: metrics → detect → root causes → recommendations for every incident."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from backend.cli import app
from data.sources import OpenWorkspace
from rca.analyze import analyze
from rca.types import Incident

console = Console(stderr=True)


class RecommendationEnricher:
    """`rca.analyze`'s ``enrich`` hook: recommendations and an experiment plan for every conclusive incident,
    next steps for every inconclusive one.

    ``prepare(ow, incidents)`` (called by `rca.analyze` before the first incident) fits the outcome model
    once for all of them (`recommendations.Recommender`); each call then ranks one incident's own
    actions against its own metric, reusing the impact estimates of incidents with the same cause.
    ``top`` limits the work to the ``top`` most severe incidents (None: all).
    """

    def __init__(self, top: int | None = None):
        self.top = top
        self.recommender = None
        self.done = 0

    def prepare(self, ow: OpenWorkspace, incidents: list[Incident]) -> None:
        from recommendations import Recommender

        self.recommender = Recommender(ow).prepare(incidents[: self.top] if self.top is not None else incidents)

    def __call__(self, ow: OpenWorkspace, incident: Incident, entry: dict) -> dict:
        from recommendations import render_markdown

        if self.top is not None and self.done >= self.top:
            return {}
        self.done += 1
        if self.recommender is None:
            from recommendations import Recommender

            self.recommender = Recommender(ow)
        recset = self.recommender.recommend(incident, incident_id=incident.regression.id)
        full = recset.to_dict()
        # The incidents.json contract: `recommendations` (a list) and `experiment_plan` per incident.
        return {"recommendations": full["recommendations"], "experiment_plan": full["experiment_plan"],
                "recommendation_status": full["status"], "next_steps": full["next_steps"],
                "pm_summary": full["pm_summary"], "pm_table": full["pm_table"],
                "recommendation_notes": full["notes"],
                "recommendations_markdown": render_markdown(recset, heading_level=3)}


@app.command("analyze")
def analyze_command(
    workspace: Annotated[Path, typer.Argument(help="Workspace YAML file (or its folder).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for incidents.json and report.md.")],
    cube: Annotated[Path, typer.Option("--cube", help="Reuse this cube.parquet instead of building one.")] = None,
    metric: Annotated[list[str], typer.Option("--metric", help="Only this metric (repeatable).")] = None,
    max_incidents: Annotated[int, typer.Option("--max-incidents", min=0,
                                               help="Explain at most this many.")] = 20,
    recommend: Annotated[int | None, typer.Option(
        "--recommend", min=0, help="Recommend for the N most severe incidents (default: every incident; 0: none).")] = None,
) -> None:
    """Detect regressions, explain each with ranked causes and evidence, and write the report."""
    enrich = None if recommend == 0 else RecommendationEnricher(recommend)
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
