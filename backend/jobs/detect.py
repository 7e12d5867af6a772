"""The detection job: analyse a workspace's new data, store incidents, announce the new ones.

1. Find (or register) the workspace; read its data watermark (the newest record timestamp).
2. Without new data since the last successful run, record a ``skipped`` run. Otherwise run the one
   analysis path (`backend.analysis.analyze_workspace`, as `cxw analyze` does) over the new buckets only,
   with the baseline history they need (``--full``, or a first run: over everything), writing the run's
   incidents.json and report.md to ``<data dir>/runs/<run id>``; or store a given incidents.json.
   A full run rebuilds the workspace's cube; a run over new data aggregates only the new buckets and
   splices them into it (or builds it whole when there is none yet); storing an incidents.json builds
   the cube unless the stored one already covers every record. Every run that succeeds leaves the
   workspace with its cube, so the UI's series and drill-down work after any first run. The what-if
   model of each incident (`backend.whatif`) is kept in ``<data dir>/whatif/<workspace id>``: prepared by
   the run's analysis (which then also prepares those of earlier open incidents: new data make them
   stale), or taken from the ``whatif`` folder beside a stored incidents.json when made on the current data.
3. In ONE transaction: upsert the incidents (dedup), queue a webhook message per new incident and URL
   in the outbox, propose the new incidents' recommendations as actions, point the workspace at its
   cube, close the run (its ``scanned`` window says which buckets detection scanned).
4. Deliver due outbox messages (this run's and any left from earlier runs) with retries and backoff.

Re-running is safe: the same regression updates its incident, and the outbox holds at most one message
per (incident, URL), so nothing is announced twice; an unreachable webhook keeps its messages pending.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from backend.actors import JOB_ACTOR, Actor
from backend.analysis import Scanned, analyze_workspace, ensure_stored_cube
from backend.progress import Progress, silent
from backend.crud import actions, incidents, outbox, runs, workspaces
from backend.errors import Conflict, Invalid
from backend.llm import narrator_from_settings
from backend.models import Workspace
from backend.schemas.incident import IncidentIn, IncidentPublic
from backend.settings import Settings
from backend.whatif import WHATIF_FOLDER, WhatIfStore, incident_whatif_scopes, keep_incident_whatifs
from backend.webhooks import DeliveryReport, build_body, check_url, deliver_due, message_format
from data.errors import UserError
from data.sources import open_workspace, quote
from data.workspace import load_workspace
from metrics.cube import CubeInfo
from recommendations.incidents_io import first_error


log = logging.getLogger(__name__)
SCANNED = TypeAdapter(Scanned | None)  # a run's detail keeps it as RunPublic serves it


@dataclass
class JobResult:
    run: dict
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    queued: int = 0
    delivery: DeliveryReport | None = None


def data_watermark(path: str | Path) -> datetime | None:
    """The newest record timestamp of a workspace (one aggregate over the records, on its engine)."""
    ow = open_workspace(path)
    try:
        return ow.engine.row(f"SELECT max({quote(ow.workspace.records.timestamp)}) FROM records")[0]
    finally:
        ow.close()


def link_for(settings: Settings, incident_id: int) -> str | None:
    return f"{settings.public_url.rstrip('/')}/incidents/{incident_id}" if settings.public_url else None


def store_incidents(session: Session, settings: Settings, ws: Workspace, items: list, actor: Actor,
                    webhooks: list[tuple[str, str]], run_id: int | None = None) -> tuple[incidents.UpsertResult, int]:
    """Upsert incidents, queue webhook messages for the new ones and propose their actions (caller commits)."""
    result = incidents.upsert(session, ws, items, actor, run_id=run_id)
    queued = 0
    ws_info = {"id": ws.id, "name": ws.name}
    for inc in result.created:
        public = IncidentPublic.model_validate(incidents.public(inc)).model_dump(mode="json")
        for url, fmt in webhooks:
            body = build_body(fmt, public, ws_info, link_for(settings, inc.id))
            queued += outbox.enqueue(session, inc.id, url, fmt, body) is not None
        actions.propose_all(session, inc, actor, source="job" if actor.role == "job" else "recommendation")
    return result, queued


def resolve_webhooks(settings: Settings, urls: list[str], fmt: str = "auto") -> list[tuple[str, str]]:
    seen, out = set(), []
    for url in [*urls, *settings.webhooks]:
        if url not in seen:
            seen.add(url)
            out.append((check_url(url), message_format(url, fmt if url in urls else settings.webhook_format)))
    return out


def _load_incidents_file(path: Path) -> list[IncidentIn]:
    """The incident entries of an incidents.json that `cxw analyze` wrote, each read into its model (a
    malformed one is a one-line error naming the entry and the field)."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise UserError(f"{path}: cannot read incidents JSON: {err}") from None
    entries = doc.get("incidents") if isinstance(doc, dict) else doc
    if not isinstance(entries, list):
        raise UserError(f"{path}: expected a list of incidents or an object with 'incidents'")
    out = []
    for n, entry in enumerate(entries, start=1):
        try:
            out.append(IncidentIn.model_validate(entry))
        except ValidationError as err:
            raise UserError(f"{path}: incident {n}: {first_error(err)}") from None
    return out


def _stored_cube(ws_path: str, cube_dir: Path) -> CubeInfo | None:
    """The workspace's cube in ``cube_dir``, built unless it is already current (`ensure_stored_cube`):
    storing an incidents.json leaves the workspace as a run that analysed it would (series, drill-down)."""
    ow = open_workspace(ws_path)
    try:
        return ensure_stored_cube(ow, cube_dir)
    finally:
        ow.close()


def _workspace_id(sessions: sessionmaker[Session], workspace: str | Path | int, actor: Actor) -> int:
    """The workspace's id, registering a path on its first run. When a concurrent first run registers the
    same path first, this run uses that row (and then finds the workspace busy, or runs after it)."""
    if isinstance(workspace, int):
        with sessions() as session:
            return workspaces.get(session, workspace).id
    try:
        with sessions.begin() as session:
            return workspaces.find_or_register(session, workspace, actor).id
    except (Conflict, sa.exc.IntegrityError):
        with sessions.begin() as session:
            return workspaces.find_or_register(session, workspace, actor).id


def _keep_whatifs(sessions: sessionmaker[Session], ws_id: int, ws_path: str, store: WhatIfStore,
                  incidents_file: Path | None, progress: Progress) -> None:
    """Keep the what-if models of the open incidents on the current data (`backend.whatif`): storing an
    incidents.json takes those its analysis kept beside it (no fit); a run's own analysis has kept its
    incidents' models, and the models of earlier open incidents are prepared now (new data make them
    stale). A kept model only saves time later, so a failure here is logged, never the run's."""
    try:
        if incidents_file is not None:
            store.adopt(Path(incidents_file).parent / WHATIF_FOLDER, load_workspace(ws_path))
            return
        with sessions() as session:
            active = incidents.active_payloads(session, ws_id)
        keep_incident_whatifs(ws_path, incident_whatif_scopes(active), store, progress=progress)
    except Exception:
        log.exception("workspace %s: the incidents' what-if models were not kept", ws_id)


def run_detect(sessions: sessionmaker[Session], settings: Settings, workspace: str | Path | int, *,
               webhooks: list[str] = (), fmt: str = "auto", full: bool = False, incidents_file: Path | None = None,
               actor: Actor = JOB_ACTOR, deliver: bool = True, progress: Progress = silent) -> JobResult:
    hooks = resolve_webhooks(settings, list(webhooks), fmt)
    ws_id = _workspace_id(sessions, workspace, actor)
    with sessions.begin() as session:
        ws = workspaces.get(session, ws_id)
        ws_path = ws.path
        cube_dir = workspaces.cube_folder(ws, settings.data_dir)
        whatifs = WhatIfStore(workspaces.whatif_folder(ws, settings.data_dir))
        since = None if full else runs.last_watermark(session, ws)
    watermark = data_watermark(ws_path)
    with sessions.begin() as session:
        run = runs.start(session, workspaces.get(session, ws_id), actor)
        run.since = since
        run_id = run.id
    has_new_data = since is None or (watermark is not None and watermark > since)
    if incidents_file is None and not has_new_data:
        with sessions.begin() as session:
            run = runs.finish(session, runs.get(session, run_id), "skipped", actor, watermark=since,
                              detail={"reason": f"no records after {since}"})
            result = JobResult(runs.public(run))
    else:
        beat = runs.Heartbeat(sessions, run_id).start()
        try:
            cube: CubeInfo | None = None
            detail: dict = {}
            if incidents_file is not None:
                items = _load_incidents_file(incidents_file)
                cube = _stored_cube(ws_path, cube_dir)
            else:
                out_dir = (settings.data_dir / "runs" / str(run_id)).resolve()
                analysis = analyze_workspace(ws_path, out_dir, since=since, cube=cube_dir, progress=progress,
                                             narrate=narrator_from_settings(settings),
                                             keep_whatifs=whatifs.folder)
                cube = analysis.cube
                items = analysis.document["incidents"]
                detail = {"scanned": SCANNED.dump_python(analysis.scanned, mode="json"),
                          "regressions": analysis.regressions,
                          "timings": {k: round(v, 3) for k, v in analysis.timings.items()}}
            progress(f"storing {len(items)} incident(s)")
            with sessions.begin() as session:
                ws = workspaces.get(session, ws_id)
                stored, queued = store_incidents(session, settings, ws, items, actor, hooks, run_id)
                if cube is not None:
                    workspaces.record_cube(session, ws, cube_dir, cube, actor)
                run = runs.finish(session, runs.get(session, run_id), "succeeded", actor, watermark=watermark,
                                  incidents_new=len(stored.created), incidents_updated=len(stored.updated),
                                  messages_queued=queued, detail=detail)
                result = JobResult(runs.public(run), [i.id for i in stored.created], [i.id for i in stored.updated],
                                   queued)
        except Exception as err:
            message = str(err) if isinstance(err, UserError) else f"{type(err).__name__}: {err}"
            with sessions.begin() as session:
                runs.finish(session, runs.get(session, run_id), "failed", actor, error=message[:4000])
            if isinstance(err, (UserError, ValueError)) and not isinstance(err, UserError):
                raise Invalid(message) from err
            raise
        finally:
            beat.stop()
        _keep_whatifs(sessions, ws_id, ws_path, whatifs, incidents_file, progress)
    if deliver:
        progress("delivering webhook messages")
        result.delivery = deliver_due(sessions, settings)
    return result
