"""Reconciliations: start one (uploaded files or files on the server) as a background run with progress,
list runs, read a run's findings, download its report, chart and row exports.

Engineers start runs; engineers and PMs read; the job role does neither.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import ValidationError

from backend.api.deps import Engineer, Id, PageDep, Reader, SessionDep, SettingsDep
from backend.crud import reconciliations
from backend.errors import Invalid, NotFound
from backend.jobs.reconcile import Upload, prepare_paths, prepare_upload, start_run
from backend.models import ReconciliationRun
from backend.reconciliation import parse_tolerances
from backend.schemas.common import Page
from backend.schemas.reconciliation import ReconcilePathsRequest, ReconcileSettings, ReconciliationRunPublic
from recommendations.reconcile import ReconciliationSummary

router = APIRouter(prefix="/reconciliations", tags=["reconciliations"])
ExportName = Annotated[str, PathParam(pattern=r"^[a-z_]{1,60}\.(csv|parquet)$",
                                      description="An export's file name, as the findings list it")]
MEDIA = {".csv": "text/csv", ".parquet": "application/vnd.apache.parquet", ".md": "text/markdown",
         ".pdf": "application/pdf", ".png": "image/png"}


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _run(session, run_id: int, actor) -> ReconciliationRun:
    """The run, after marking dead runs failed (so a killed run never reads as running)."""
    if reconciliations.reap(session, actor):
        session.commit()
    return reconciliations.get(session, run_id)


def _file(run: ReconciliationRun, name: str, download: str) -> FileResponse:
    reconciliations.summary_of(run)  # 409 unless the run succeeded
    path = reconciliations.output_folder(run) / name
    if not path.is_file():
        raise NotFound(f"reconciliation {run.id}: {name} is not in its output")
    return FileResponse(path, media_type=MEDIA[path.suffix], filename=f"reconciliation-{run.id}-{download}")


@router.get("", response_model=Page[ReconciliationRunPublic])
def list_reconciliations(session: SessionDep, actor: Reader, page: PageDep) -> dict:
    """Reconciliation runs, newest first, with progress while they run and record counts once done."""
    if reconciliations.reap(session, actor):
        session.commit()
    rows, count = reconciliations.list_runs(session, page.limit, page.offset)
    return {"data": [reconciliations.public(r) for r in rows], "count": count}


@router.post("", response_model=ReconciliationRunPublic, status_code=status.HTTP_202_ACCEPTED)
def start_reconciliation(body: ReconcilePathsRequest, request: Request, session: SessionDep,
                         settings: SettingsDep, actor: Engineer) -> dict:
    """Reconcile two files on the server (under ``CXW_DATA_DIR`` or ``CXW_WORKSPACE_DIRS``) in the background;
    the files and named columns are checked first (422 naming the file and column)."""
    prepared = prepare_paths(settings, session, body, body.legacy_path, body.migrated_path)
    session.close()
    return start_run(request.app.state.sessions, settings, actor, prepared, body, name=body.name)


@router.post("/upload", response_model=ReconciliationRunPublic, status_code=status.HTTP_202_ACCEPTED)
def upload_reconciliation(
    request: Request, session: SessionDep, settings: SettingsDep, actor: Engineer,
    legacy: Annotated[UploadFile, File(description="Legacy records: .csv, .csv.gz or .parquet")],
    migrated: Annotated[UploadFile, File(description="Migrated records: .csv, .csv.gz or .parquet")],
    key: Annotated[str, Form(max_length=2000, description="Key column(s), comma-separated")],
    compare: Annotated[str, Form(max_length=20000, description="Only these columns, comma-separated")] = "",
    tolerance: Annotated[list[str] | None, Form(description="COLUMN=NUMBER, repeatable")] = None,
    reason_column: Annotated[str | None, Form(max_length=200)] = None,
    customer_column: Annotated[str | None, Form(max_length=200)] = None,
    amount_column: Annotated[str | None, Form(max_length=200)] = None,
    key_normalize: Annotated[str, Form(max_length=50)] = "trim,case,zeros",
    previous_run_id: Annotated[int | None, Form(ge=1, le=2_147_483_647)] = None,
    name: Annotated[str | None, Form(max_length=200)] = None,
) -> dict:
    """Upload two files and reconcile them in the background: checked for size, type, header and the named
    columns first (4xx naming the file and column); nothing is kept if anything is wrong."""
    try:
        body = ReconcileSettings(key=_split(key), compare=_split(compare), tolerances=parse_tolerances(tolerance or []),
                                 reason_column=reason_column or None, customer_column=customer_column or None,
                                 amount_column=amount_column or None, key_normalize=key_normalize,
                                 previous_run_id=previous_run_id)
    except ValidationError as err:
        first = err.errors()[0]
        raise Invalid(f"{'.'.join(str(p) for p in first['loc']) or 'options'}: {first['msg']}") from None
    prepared = prepare_upload(settings, session, body, Upload(legacy.filename, legacy.file),
                              Upload(migrated.filename, migrated.file))
    session.close()
    return start_run(request.app.state.sessions, settings, actor, prepared, body, name=name)


@router.get("/{run_id}", response_model=ReconciliationRunPublic)
def read_reconciliation(run_id: Id, session: SessionDep, actor: Reader) -> dict:
    """One run: status, step and progress while it runs; error when it failed; counts when it succeeded."""
    return reconciliations.public(_run(session, run_id, actor))


@router.get("/{run_id}/findings", response_model=ReconciliationSummary)
def read_reconciliation_findings(run_id: Id, session: SessionDep, actor: Reader) -> ReconciliationSummary:
    """The run's findings: the same `ReconciliationSummary` as `cxw reconcile` writes to summary.json
    (409 while the run is going or after it failed)."""
    return reconciliations.summary_of(_run(session, run_id, actor))


@router.get("/{run_id}/report/markdown")
def download_reconciliation_markdown(run_id: Id, session: SessionDep, actor: Reader) -> FileResponse:
    """The narrative report as Markdown."""
    return _file(_run(session, run_id, actor), "report.md", "report.md")


@router.get("/{run_id}/report/pdf")
def download_reconciliation_pdf(run_id: Id, session: SessionDep, actor: Reader) -> FileResponse:
    """The narrative report as PDF."""
    return _file(_run(session, run_id, actor), "report.pdf", "report.pdf")


@router.get("/{run_id}/chart")
def download_reconciliation_chart(run_id: Id, session: SessionDep, actor: Reader) -> FileResponse:
    """The bar chart of mismatches by reason code (PNG)."""
    return _file(_run(session, run_id, actor), "mismatches_by_reason.png", "mismatches_by_reason.png")


@router.get("/{run_id}/exports/{name}")
def download_reconciliation_export(run_id: Id, name: ExportName, session: SessionDep, actor: Reader
                                   ) -> FileResponse:
    """One of the run's exports (impacted customers, per pattern, every row behind every number), by the
    name its findings list; any other name is a 404."""
    run = _run(session, run_id, actor)
    listed = {e.name for e in reconciliations.summary_of(run).exports}
    if name not in listed:
        raise NotFound(f"reconciliation {run_id}: no export named {name!r} (exports: {', '.join(sorted(listed))})")
    return _file(run, Path(name).name, name)
