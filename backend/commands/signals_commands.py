"""`cxw signals ...`: simulate a migration, mine templates, load and analyse operational signals."""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from backend.commands.apps import app
from backend.commands.progress import QUIET, stage_progress
from data.errors import UserError

signals_app = typer.Typer(help="Operational signals: tickets, API errors, webhook failures, migration states.",
                          no_args_is_help=True)
app.add_typer(signals_app, name="signals")


def write_atomic(path: Path, write) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise UserError(f"{path}: the folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            write(fh)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@signals_app.command("simulate")
def simulate_command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write (a previous output is replaced).")],
    merchants: Annotated[int, typer.Option("--merchants", help="Number of merchants (at least 10).")] = 200,
    days: Annotated[int, typer.Option("--days", help="Days of signals (4 to 90).")] = 14,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same files.")] = 0,
    patterns: Annotated[str, typer.Option("--patterns", help="Comma-separated injected patterns, 'all' or 'none'.")]
    = "all",
) -> None:
    """A migration fortnight: signals.jsonl with background noise and injected patterns, and truth.json."""
    from data.synthetic.signals import PATTERNS, simulate_migration

    chosen = PATTERNS if patterns == "all" else () if patterns == "none" else \
        tuple(p.strip() for p in patterns.split(",") if p.strip())
    result = simulate_migration(out, merchants, days, seed, chosen)
    typer.echo(f"wrote {result.signals:,} signals of {result.merchants} merchants ({result.migrated} migrating) "
               f"to {result.out} (injected: {', '.join(result.patterns) or 'none'})")


@signals_app.command("templates")
def templates_command(
    file: Annotated[Path, typer.Argument(help="A text file, one log line or message per line.")],
    out: Annotated[Path, typer.Option("--out", help="CSV to write: line, template_id, template.")],
) -> None:
    """Mine the template of every line (masking + Drain) and write one CSV row per input line."""
    from detection.templates import mine_templates

    try:
        lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        raise UserError(f"{file}: no such file") from None
    except (OSError, IsADirectoryError) as err:
        raise UserError(f"{file}: cannot read ({err.__class__.__name__})") from None
    templates = mine_templates(lines)

    def write(fh) -> None:
        writer = csv.writer(fh)
        writer.writerow(["line", "template_id", "template"])
        for number, tid in enumerate(templates.ids.tolist(), 1):
            writer.writerow([number, tid, templates.texts[tid]])

    write_atomic(out, write)
    typer.echo(f"{len(lines):,} lines, {len(templates.texts):,} templates → {out}")


@signals_app.command("analyze")
def analyze_command(
    files: Annotated[list[Path], typer.Argument(help="Signal files: JSON lines (.jsonl) or CSV (.csv).")],
    out: Annotated[Path, typer.Option("--out", help="The report to write (JSON, the API's SignalReport).")],
    window_days: Annotated[float, typer.Option("--window-days", help="Days at the end tested against the rest.")]
    = 7.0,
    hypotheses: Annotated[Path | None, typer.Option("--hypotheses", help="A hypothesis library YAML.")] = None,
    guardrails: Annotated[Path | None, typer.Option("--guardrails", help="A guardrail policy YAML.")] = None,
    markdown: Annotated[Path | None, typer.Option("--markdown", help="Also write the report in words (Markdown).")]
    = None,
) -> None:
    """Group signals into patterns, test spikes and migration-stage association, rank causes, propose actions."""
    from backend.llm import narrator_from_settings
    from backend.settings import Settings
    from backend.signal_report import render_signal_markdown
    from backend.signals_analysis import SignalSettings, investigate_signals
    from data.signals import read_signals

    if window_days <= 0:
        raise UserError("--window-days must be positive")
    report = investigate_signals(read_signals(files), SignalSettings(window_days=window_days, hypotheses=hypotheses,
                                                                     guardrails=guardrails))
    write_atomic(out, lambda fh: fh.write(report.model_dump_json(indent=1)))
    if markdown is not None:
        text = render_signal_markdown(report, narrator_from_settings(Settings()))
        write_atomic(markdown, lambda fh: fh.write(text))
    typer.echo(f"{report.signals:,} signals, {len(report.patterns)} patterns, {report.raised} raised → {out}"
               + (f", {markdown}" if markdown is not None else ""))
    for pattern in report.patterns[: report.raised]:
        top = pattern.hypotheses[0] if pattern.hypotheses else None
        cause = f"{top.id} ({top.confidence:.0%})" if top else "not assessed"
        typer.echo(f"  {pattern.label}: {pattern.signals:,} signals, {pattern.merchants_affected} merchants, "
                   f"stage {pattern.stage.strongest if pattern.stage else 'n/a'}, cause {cause}")


@signals_app.command("load")
def load_command(
    files: Annotated[list[Path], typer.Argument(help="Signal files: JSON lines (.jsonl) or CSV (.csv).")],
) -> None:
    """Validate signal files and store them in the workbench database (idempotent by signal id)."""
    from backend.actors import cli_actor
    from backend.commands.service import open_database
    from backend.crud import signals
    from data.signals import read_records

    records = [record for path in files for record in read_records(path)]  # all valid, or nothing is stored
    _, sessions = open_database()
    with sessions.begin() as session:
        stored, duplicates = signals.ingest(session, records, cli_actor())
    typer.echo(f"{len(records):,} records: {stored:,} stored, {duplicates:,} already there")


@signals_app.command("job")
def job_command(
    window_days: Annotated[float, typer.Option("--window-days", help="Days at the end tested against the rest.")]
    = 7.0,
    quiet: Annotated[bool, QUIET] = False,
) -> None:
    """Analyse the signals stored in the database; store the report and its proposals (audited), as
    `POST /api/signals/analysis` does: the scheduled job's entry point."""
    from backend.actors import JOB_ACTOR
    from backend.commands.service import open_database
    from backend.crud import signals

    if window_days <= 0:
        raise UserError("--window-days must be positive")
    settings, sessions = open_database()
    with sessions.begin() as session, stage_progress(Console(stderr=True), quiet) as progress:
        analysis = signals.run_analysis(session, JOB_ACTOR, signals.signal_settings(settings, window_days),
                                        tool_urls=settings.signal_tool_urls, progress=progress)
        waiting = signals.list_proposals(session, analysis_id=analysis.id, status="proposed", limit=1)[1]
        typer.echo(f"analysis {analysis.id}: {analysis.signals:,} signals, {analysis.raised} patterns raised, "
                   f"{waiting} proposals waiting for approval")


@signals_app.command("proposals")
def proposals_command(
    status: Annotated[str | None, typer.Option("--status", help="proposed, approved, rejected or executed.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 50,
) -> None:
    """The approval queue in the workbench database: one line per proposal."""
    from typing import get_args

    from backend.commands.service import open_database
    from backend.crud import signals
    from backend.schemas.signals import ProposalStatus

    if status is not None and status not in get_args(ProposalStatus):
        raise UserError(f"--status must be one of {', '.join(get_args(ProposalStatus))}, not {status!r}")
    if not 1 <= limit <= 1000:
        raise UserError("--limit must be between 1 and 1000")
    _, sessions = open_database()
    with sessions() as session:
        rows, count = signals.list_proposals(session, status=status, limit=limit)
        for p in rows:
            gate = "needs approval" if p.needs_approval else "may run alone"
            typer.echo(f"{p.id}\t{p.status}\t{p.tool}\t{p.action}\t{gate}\t{p.pattern_label}")
    typer.echo(f"{count} proposals" + (f" {status}" if status else ""))


def _decide_command(proposal_id: int, verb: str, reason: str) -> None:
    from backend.actors import cli_actor
    from backend.commands.service import open_database
    from backend.crud import signals

    _, sessions = open_database()
    with sessions.begin() as session:
        decide = signals.approve if verb == "approve" else signals.reject
        row = decide(session, signals.get_proposal(session, proposal_id), reason, cli_actor())
        typer.echo(f"proposal {row.id} {row.status} by {row.decided_by}")


@signals_app.command("approve")
def approve_command(
    proposal_id: Annotated[int, typer.Argument(help="The proposal's id (cxw signals proposals).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")] = "",
) -> None:
    """Approve a proposal (once; audited; raises that hypothesis' future confidence)."""
    _decide_command(proposal_id, "approve", reason)


@signals_app.command("reject")
def reject_command(
    proposal_id: Annotated[int, typer.Argument(help="The proposal's id (cxw signals proposals).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (required; kept in the audit trail).")],
) -> None:
    """Reject a proposal with a reason (once; audited; lowers that hypothesis' future confidence)."""
    _decide_command(proposal_id, "reject", reason)


@signals_app.command("execute")
def execute_command(
    proposal_id: Annotated[int, typer.Argument(help="An approved proposal's id.")],
    send: Annotated[bool, typer.Option("--send", help="Run it for real (default: a dry run that sends nothing).")]
    = False,
) -> None:
    """Run an approved proposal's tool: a dry run by default (prints what would be sent and to which tool,
    audited); with --send, outbound messages go through the outbox (CXW_SIGNAL_TOOL_URLS must name the URL)."""
    import json

    from backend.actors import cli_actor
    from backend.commands.service import open_database
    from backend.crud import signals

    settings, sessions = open_database()
    with sessions.begin() as session:
        row = signals.execute(session, signals.get_proposal(session, proposal_id), not send, cli_actor(),
                              settings.signal_tool_urls)
        typer.echo(json.dumps({"id": row.id, "status": row.status, "result": row.result}, indent=1, default=str))
