"""Reconciliation runs in the service: inputs checked, a run opened, `backend.reconciliation.reconcile`
(the composition `cxw reconcile` runs) executed in a background thread with progress and heartbeat.

1. The inputs: uploaded files are stored under ``<data dir>/reconciliations/<folder>/`` (size limit,
   gzip decompressed as it is counted, type by name and content); server paths are resolved and
   checked by the server's `PathGuard` (``CXW_DATA_DIR`` and ``CXW_WORKSPACE_DIRS``, never its database).
2. `check_inputs` reads each file's header and checks every column the options name, so bad input is a
   4xx before any run exists; on any error the folder is removed and nothing is stored.
3. The run is opened (at most ``CXW_RECONCILE_MAX_RUNNING`` at once) and a thread runs `reconcile` into
   ``<folder>/out`` (written atomically by the composition), recording each step's progress; the run
   is closed ``succeeded`` with the summary, or ``failed`` with the one-line error; uploaded inputs
   are removed once it ends (the output folder holds every row behind every number). A run whose process
   dies stays ``running`` until the next read or start finds its process gone (`crud.reconciliations.reap`).
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session, sessionmaker

from backend.actors import Actor
from backend.crud import reconciliations, runs
from backend.errors import Conflict, Invalid
from backend.llm import narrator_from_settings
from backend.models import ReconciliationRun
from backend.reconciliation import ReconcileOptions, check_inputs, parse_key_rules, reconcile
from backend.schemas.reconciliation import ReconcileSettings
from backend.settings import Settings
from backend.uploads import store_table, without_server_paths
from data.errors import UserError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upload:
    """An uploaded file: the name the client gave and its stream."""

    filename: str | None
    stream: BinaryIO


@dataclass(frozen=True)
class Prepared:
    """Checked inputs of a run about to start."""

    options: ReconcileOptions
    folder: Path
    legacy_name: str
    migrated_name: str
    source: str


def _options(settings: Settings, session: Session, body: ReconcileSettings, legacy: Path, migrated: Path
             ) -> ReconcileOptions:
    previous = None
    if body.previous_run_id is not None:
        before = reconciliations.get(session, body.previous_run_id)
        if before.status != "succeeded":
            raise Conflict(f"previous_run_id {before.id}: that reconciliation {before.status}; compare with a "
                           "succeeded one")
        previous = reconciliations.output_folder(before)
    return ReconcileOptions(
        legacy=legacy, migrated=migrated, key=tuple(body.key), compare=tuple(body.compare),
        tolerances=dict(body.tolerances), reason_column=body.reason_column, customer_column=body.customer_column,
        amount_column=body.amount_column, key_rules=parse_key_rules(body.key_normalize), previous=previous,
        export_format="csv", memory_limit=settings.reconcile_memory_limit, threads=settings.reconcile_threads)


def _new_folder(settings: Settings) -> Path:
    folder = (settings.data_dir / "reconciliations" / uuid.uuid4().hex).resolve()
    folder.mkdir(parents=True)
    return folder


def prepare_upload(settings: Settings, session: Session, body: ReconcileSettings, legacy: Upload,
                   migrated: Upload) -> Prepared:
    """Store and check two uploaded files; on any error nothing is kept and no message names a server path."""
    folder = _new_folder(settings)
    try:
        inputs = folder / "input"
        inputs.mkdir()
        legacy_path, used = store_table(legacy.stream, legacy.filename, inputs, "legacy", "legacy",
                                        settings.upload_max_bytes)
        migrated_path, _ = store_table(migrated.stream, migrated.filename, inputs, "migrated", "migrated",
                                       settings.upload_max_bytes, used)
        options = _options(settings, session, body, legacy_path, migrated_path)
        names = {str(legacy_path): legacy.filename or "legacy", str(migrated_path): migrated.filename or "migrated"}
        try:
            check_inputs(options)
        except UserError as err:
            if isinstance(err, Conflict):
                raise
            raise Invalid(_client_text(str(err), names, folder, settings)) from None
        return Prepared(options, folder, names[str(legacy_path)], names[str(migrated_path)], "upload")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def prepare_paths(settings: Settings, session: Session, body: ReconcileSettings, legacy: str, migrated: str
                  ) -> Prepared:
    """Check two files on the server: inside the folders it may read, readable, with the named columns."""
    guard = settings.path_guard()
    legacy_path = guard.check(legacy, "legacy_path")
    migrated_path = guard.check(migrated, "migrated_path")
    options = _options(settings, session, body, legacy_path, migrated_path)
    try:
        check_inputs(options)
    except UserError as err:
        message = str(err)
        for path, field in ((legacy_path, "legacy_path"), (migrated_path, "migrated_path")):
            message = message.replace(str(path), f"{field} {path}", 1)
        raise Invalid(message) from None
    return Prepared(options, _new_folder(settings), legacy, migrated, "server")


def _client_text(message: str, names: dict[str, str], folder: Path, settings: Settings) -> str:
    """An error about uploaded files with each stored path replaced by the name the client gave."""
    for path, name in names.items():
        message = message.replace(path, name)
    return without_server_paths(message, folder, settings.data_dir)


def start_run(sessions: sessionmaker[Session], settings: Settings, actor: Actor, prepared: Prepared,
              body: ReconcileSettings, name: str | None = None, background: bool = True) -> dict:
    """Open the run and execute it (in a background thread unless ``background`` is false); the run as
    the API shows it, just opened."""
    try:
        with sessions.begin() as session:
            run = reconciliations.start(
                session, actor, name=name or f"{prepared.legacy_name} vs {prepared.migrated_name}"[:200],
                source=prepared.source, legacy_name=prepared.legacy_name[:1000],
                migrated_name=prepared.migrated_name[:1000], options=body.model_dump(mode="json"),
                folder=prepared.folder, previous_id=body.previous_run_id, max_running=settings.reconcile_max_running)
            opened = reconciliations.public(run)
    except BaseException:
        shutil.rmtree(prepared.folder, ignore_errors=True)
        raise
    names = {str(prepared.options.legacy): prepared.legacy_name, str(prepared.options.migrated): prepared.migrated_name}
    work = (sessions, settings, opened["id"], prepared, names, actor)
    if background:
        threading.Thread(target=execute, args=work, name=f"reconciliation-{opened['id']}", daemon=True).start()
    else:
        execute(*work)
    return opened


def execute(sessions: sessionmaker[Session], settings: Settings, run_id: int, prepared: Prepared,
            names: dict[str, str], actor: Actor) -> None:
    """Run `reconcile` for an opened run and close it; never raises (the run records what went wrong)."""

    def progress(step: str, fraction: float | None = None, rows: int | None = None) -> None:
        """`backend.progress.Progress`: the run's step and fraction done, for the UI's bar."""
        if fraction is None:
            return
        with sessions.begin() as session:
            reconciliations.record_progress(session, run_id, step, fraction)

    beat = runs.Heartbeat(sessions, run_id, table=ReconciliationRun).start()
    summary, error = None, None
    try:
        summary = reconcile(prepared.options, prepared.folder / reconciliations.OUTPUT, progress=progress,
                            narrate=narrator_from_settings(settings))
    except UserError as err:
        error = _client_text(str(err), names, prepared.folder, settings) if prepared.source == "upload" else str(err)
    except Exception as err:  # the run records it; the server keeps serving
        log.exception("reconciliation %s failed", run_id)
        error = f"{type(err).__name__}: {err}"
    finally:
        beat.stop()
        shutil.rmtree(prepared.folder / "input", ignore_errors=True)  # the findings and exports hold what counts
    try:
        with sessions.begin() as session:
            run = reconciliations.get(session, run_id)
            if summary is not None:
                reconciliations.finish(session, run, "succeeded", actor, summary=summary)
            else:
                reconciliations.finish(session, run, "failed", actor, error=(error or "unknown error")[:4000])
    except Conflict as err:  # marked dead meanwhile (e.g. cleared): its results are not stored
        log.warning("reconciliation %s: %s", run_id, err)
    except Exception:
        log.exception("reconciliation %s: could not record its end", run_id)
