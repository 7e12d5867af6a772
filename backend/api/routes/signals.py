"""Operational signals: ingestion (the job role's only right here), analyses, patterns and the approval queue."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from fastapi.concurrency import run_in_threadpool

from backend.api.deps import Engineer, Id, JobRunner, PageDep, QueryId, Reader, SessionDep, SettingsDep
from backend.crud import signals
from backend.schemas.common import Page
from backend.schemas.signals import (AnalysisRequest, ApproveBody, ExecuteBody, IngestReport, PatternDetail,
                                     ProposalPublic, ProposalStatus, RejectBody, SignalAnalysisPublic, SignalBatch,
                                     SignalRecordPublic)

router = APIRouter(prefix="/signals", tags=["signals"])
PatternId = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$", description="A pattern id from the analysis")]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IngestReport)
def post_signals(body: SignalBatch, session: SessionDep, actor: JobRunner) -> dict:
    """Store a batch of typed signals (idempotent by signal id; a bad record is a 422 naming its index and field)."""
    stored, duplicates = signals.ingest(session, body.signals, actor)
    session.commit()
    return {"received": len(body.signals), "stored": stored, "duplicates": duplicates}


@router.get("", response_model=Page[SignalRecordPublic])
def list_signals(session: SessionDep, _: Engineer, page: PageDep,
                 type_: Annotated[str | None, Query(alias="type", max_length=30)] = None,
                 merchant_id: Annotated[str | None, Query(max_length=128)] = None,
                 since: Annotated[datetime | None, Query()] = None) -> dict:
    """Stored signals, newest first."""
    rows, count = signals.list_records(session, type_=type_, merchant_id=merchant_id, since=since,
                                       limit=page.limit, offset=page.offset)
    return {"data": rows, "count": count}


@router.post("/analysis", status_code=status.HTTP_201_CREATED, response_model=SignalAnalysisPublic)
async def run_signal_analysis(body: AnalysisRequest, session: SessionDep, actor: Engineer,
                              settings: SettingsDep):
    """Investigate the stored signals: patterns, spikes, stage association, causes, proposals (audited)."""

    def work():
        analysis = signals.run_analysis(session, actor, signals.signal_settings(settings, body.window_days),
                                        body.since, body.until, settings.signal_tool_urls)
        session.commit()
        return analysis

    return await run_in_threadpool(work)


@router.get("/analysis/latest", response_model=SignalAnalysisPublic)
def latest_signal_analysis(session: SessionDep, _: Reader):
    """The newest analysis with its report."""
    return signals.latest_analysis(session)


@router.get("/patterns/{pattern_id}", response_model=PatternDetail)
def read_signal_pattern(pattern_id: PatternId, session: SessionDep, _: Reader) -> dict:
    """One pattern of the newest analysis with its proposals and their decisions."""
    analysis = signals.latest_analysis(session)
    rows, _count = signals.list_proposals(session, analysis_id=analysis.id, pattern_id=pattern_id, limit=100)
    return {"analysis_id": analysis.id, "pattern": signals.pattern_of(analysis, pattern_id), "proposals": rows}


@router.get("/proposals", response_model=Page[ProposalPublic])
def list_signal_proposals(session: SessionDep, _: Reader, page: PageDep,
                          status_: Annotated[ProposalStatus | None, Query(alias="status")] = None,
                          analysis_id: QueryId = None) -> dict:
    """The approval queue: proposals, newest first, by status and analysis."""
    rows, count = signals.list_proposals(session, status=status_, analysis_id=analysis_id, limit=page.limit,
                                         offset=page.offset)
    return {"data": rows, "count": count}


@router.post("/proposals/{proposal_id}/approve", response_model=ProposalPublic)
def approve_signal_proposal(proposal_id: Id, body: ApproveBody, session: SessionDep, actor: Engineer):
    """Approve a proposal (engineers only; once; audited; raises that hypothesis' future confidence)."""
    row = signals.approve(session, signals.get_proposal(session, proposal_id), body.reason, actor)
    session.commit()
    return row


@router.post("/proposals/{proposal_id}/reject", response_model=ProposalPublic)
def reject_signal_proposal(proposal_id: Id, body: RejectBody, session: SessionDep, actor: Engineer):
    """Reject a proposal with a reason (engineers only; once; audited; lowers that hypothesis' future confidence)."""
    row = signals.reject(session, signals.get_proposal(session, proposal_id), body.reason, actor)
    session.commit()
    return row


@router.post("/proposals/{proposal_id}/execute", response_model=ProposalPublic)
def execute_signal_proposal(proposal_id: Id, body: ExecuteBody, session: SessionDep, actor: Engineer,
                            settings: SettingsDep):
    """Run an approved proposal's tool: a dry run by default; for real, outbound messages go through the outbox."""
    row = signals.execute(session, signals.get_proposal(session, proposal_id), body.dry_run, actor,
                          settings.signal_tool_urls)
    session.commit()
    return row
