"""`cxw incidents list|show`: the incidents stored in the service database (``CXW_DATABASE_URL``, by default
under ``CXW_DATA_DIR``), as a table or as the API's JSON (``--json``)."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import TypeAdapter
from rich.console import Console
from rich.table import Table

from backend.commands.apps import app
from backend.schemas.common import Page
from backend.schemas.incident import IncidentDetail, IncidentPublic, Severity, Status
from data.slices import scope_text

incidents_app = typer.Typer(help="Stored incidents: list them, show one with its causes and recommendations.",
                            no_args_is_help=True)
app.add_typer(incidents_app, name="incidents")

PAGE = TypeAdapter(Page[IncidentPublic])
DETAIL = TypeAdapter(IncidentDetail)
JSON = typer.Option("--json", help="Print the API's JSON instead of a table.")


def _change(relative: float | None) -> str:
    return "—" if relative is None else f"{relative:+.1%}"


@incidents_app.command("list")
def list_command(
    workspace: Annotated[int | None, typer.Option("--workspace", help="Only this workspace's incidents (its id).")] = None,
    metric: Annotated[str | None, typer.Option("--metric", help="Only this metric.")] = None,
    status: Annotated[Status | None, typer.Option("--status", help="Only this status.")] = None,
    severity: Annotated[Severity | None, typer.Option("--severity", help="Only this severity.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="How many, newest window first.")] = 50,
    as_json: Annotated[bool, JSON] = False,
) -> None:
    """Stored incidents, newest window first (`GET /api/incidents`)."""
    from backend.commands.service import open_database
    from backend.crud import incidents

    _, sessions = open_database()
    with sessions() as session:
        rows, count = incidents.list_incidents(session, workspace_id=workspace, metric=metric, status=status,
                                               severity=severity, limit=limit)
        page = PAGE.validate_python({"data": rows, "count": count})
    if as_json:
        typer.echo(PAGE.dump_json(page, indent=2).decode())
        return
    table = Table(title=f"{len(page.data)} of {count} incident(s)")
    for col in ("id", "ws", "metric", "slice", "window start", "change", "severity", "status", "top cause"):
        table.add_column(col, overflow="fold")
    for i in page.data:
        cause = "—" if i.top_cause is None else (
            i.top_cause + (f" ({i.top_confidence:.0%})" if i.top_confidence is not None else ""))
        table.add_row(str(i.id), str(i.workspace_id), i.metric, i.slice, f"{i.start:%Y-%m-%d %H:%M}",
                      _change(i.relative_change), i.severity, i.status, cause)
    Console().print(table)


@incidents_app.command("show")
def show_command(
    incident_id: Annotated[int, typer.Argument(help="Incident id (from `cxw incidents list`).")],
    as_json: Annotated[bool, JSON] = False,
) -> None:
    """One incident with its slices, causes, recommendations and experiment plan (`GET /api/incidents/ID`)."""
    from backend.commands.service import open_database
    from backend.crud import incidents

    _, sessions = open_database()
    with sessions() as session:
        detail = DETAIL.validate_python(incidents.detail(session, incidents.get(session, incident_id)),
                                        from_attributes=True)
    if as_json:
        typer.echo(DETAIL.dump_json(detail, indent=2).decode())
        return
    console = Console()
    console.print(f"[bold]incident {detail.id}[/bold] · workspace {detail.workspace_id} · {detail.metric} "
                  f"{detail.direction} in {detail.slice} · {detail.severity} · {detail.status}"
                  + (f" · owner {detail.owner}" if detail.owner else ""))
    console.print(f"window {detail.start:%Y-%m-%d %H:%M} – {detail.end:%Y-%m-%d %H:%M} · baseline "
                  f"{_value(detail.baseline)} → {_value(detail.current)} ({_change(detail.relative_change)}) · "
                  f"seen {detail.seen_count}× (first {detail.first_seen_at:%Y-%m-%d %H:%M}, "
                  f"last {detail.last_seen_at:%Y-%m-%d %H:%M})")
    if detail.slices:
        table = Table(title="where")
        for col in ("slice", "share of the change"):
            table.add_column(col)
        for s in detail.slices:
            table.add_row(s.slice, "—" if s.share is None else f"{s.share:.0%}")
        console.print(table)
    if detail.causes:
        table = Table(title="causes")
        for col in ("#", "hypothesis", "change or driver", "scope", "confidence"):
            table.add_column(col, overflow="fold")
        for k, c in enumerate(detail.causes, start=1):
            table.add_row(str(k), c.hypothesis, c.change_event or c.feature or "—",
                          scope_text(c.scope), f"{c.confidence:.0%}")
        console.print(table)
    status = detail.recommendation_status or "none"
    console.print(f"recommendations ({status}):")
    for k, r in enumerate(detail.recommendations, start=1):
        console.print(f"  {k}. {r.title}")
    for step in detail.next_steps:
        console.print(f"  next step: {step.check}")



def _value(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"
