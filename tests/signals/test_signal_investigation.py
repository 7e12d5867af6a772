"""From simulated signals with a known answer to patterns, spikes, stage association, causes and proposals."""

from __future__ import annotations

import csv
import json

import pytest
import sqlalchemy as sa

from backend.cli import main
from backend.signals_analysis import SignalReport, investigate
from data.signals import read_signals
from data.synthetic.signals import PATTERNS, evaluate_patterns, simulate_migration


def _run(tmp_path, seed: int, patterns=PATTERNS, merchants: int = 160):
    out = tmp_path / f"sim{seed}"
    simulate_migration(out, merchants=merchants, days=14, seed=seed, patterns=patterns)
    truth = json.loads((out / "truth.json").read_text())
    result = investigate(read_signals([out / "signals.jsonl"]))
    return truth, result


@pytest.fixture(scope="module", params=[11, 12])
def run(request, tmp_path_factory):
    return _run(tmp_path_factory.mktemp("signals"), request.param)


def test_every_injected_pattern_is_one_raised_pattern_with_its_cause_first(run):
    truth, result = run
    report = result.report
    raised = {p.id for p in report.patterns if p.spike.raised}
    top = {p.id: p.hypotheses[0].id for p in report.patterns if p.hypotheses}
    verdicts = evaluate_patterns(truth, result.signal_ids, result.pattern_ids, raised, top)
    assert len(verdicts) == len(PATTERNS)
    for v in verdicts:
        assert v.one_pattern, v
        assert v.raised, v
        assert v.top_cause == v.cause, v
    assert raised == {v.found for v in verdicts}  # nothing raised from the noise


def test_stage_association_and_proposals_follow_the_evidence(run):
    truth, result = run
    by_cause = {}
    for p in result.report.patterns:
        if p.spike.raised and p.signal_type != "ticket":
            by_cause[p.hypotheses[0].id] = p
    assert by_cause["rate_limit_during_sync"].stage.strongest == "in_progress"
    assert by_cause["callback_url_change"].stage.strongest == "post_recent"
    recent = next(c for c in by_cause["callback_url_change"].stage.comparisons if c.stage == "post_recent")
    assert (recent.unbounded or recent.ratio > 20) and recent.ratio_low > 5 and recent.p_value < 1e-10
    assert by_cause["unknown"].stage.strongest is None  # the outage hit migrated and waiting merchants alike
    assert [a.action for a in by_cause["unknown"].proposals] == ["open_internal_ticket"]
    callback = by_cause["callback_url_change"]
    assert callback.severity == "critical"
    assert all(a.needs_approval and "severity critical" in a.reasons for a in callback.proposals)
    notify = next(a for a in callback.proposals if a.action == "notify_affected_merchants")
    assert "it leaves the system" in notify.reasons and notify.risk > 0.5
    assert callback.spike.start is not None and callback.spike.start >= result.report.baseline_end
    assert sum(callback.hourly) == callback.signals and len(callback.samples) == 5


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_nothing_is_raised_from_noise_alone(tmp_path, seed):
    _, result = _run(tmp_path, seed, patterns=())
    assert result.report.raised == 0
    assert all(not p.proposals for p in result.report.patterns)


def test_feedback_moves_a_hypothesis_and_shows_on_the_pattern(tmp_path):
    from backend.signals_analysis import SignalSettings, investigate_signals
    from rca.signal_hypotheses import Feedback

    out = tmp_path / "sim"
    simulate_migration(out, merchants=120, days=14, seed=5, patterns=("checkout_callback", "checkout_tickets"))
    table = read_signals([out / "signals.jsonl"])
    before = investigate_signals(table)
    after = investigate_signals(table, SignalSettings(feedback={"callback_url_change": Feedback(approved=0,
                                                                                              rejected=8)}))

    def ticket(report):
        p = next(p for p in report.patterns if p.spike.raised and p.signal_type == "ticket")
        return next(h for h in p.hypotheses if h.id == "callback_url_change")

    assert ticket(after).feedback_rejected == 8 and ticket(after).feedback_factor == pytest.approx(0.2)
    assert ticket(after).confidence < ticket(before).confidence


def test_cli_simulate_analyze_and_templates(tmp_path, capsys):
    assert main(["signals", "simulate", "--out", str(tmp_path / "sim"), "--merchants", "120", "--seed", "2"]) == 0
    assert main(["signals", "analyze", str(tmp_path / "sim" / "signals.jsonl"), "--out",
                 str(tmp_path / "report.json")]) == 0
    report = SignalReport.model_validate_json((tmp_path / "report.json").read_text())
    assert report.raised == len(PATTERNS)
    lines = tmp_path / "lines.txt"
    lines.write_text("Order 12 not found\nOrder 13 not found\nDisk full on /dev/sda1\n")
    assert main(["signals", "templates", str(lines), "--out", str(tmp_path / "t.csv")]) == 0
    rows = list(csv.reader((tmp_path / "t.csv").open()))
    assert rows == [["line", "template_id", "template"], ["1", "1", "Order <*> not found"],
                    ["2", "1", "Order <*> not found"], ["3", "2", "Disk full on <*>"]]
    capsys.readouterr()
    assert main(["signals", "analyze", str(lines), "--out", str(tmp_path / "x.json")]) == 2
    assert "must be JSON lines" in capsys.readouterr().err
    bad = tmp_path / "g.yaml"
    bad.write_text("require_approval:\n  min_confidence: 2\n")
    assert main(["signals", "analyze", str(tmp_path / "sim" / "signals.jsonl"), "--out", str(tmp_path / "y.json"),
                 "--guardrails", str(bad)]) == 2
    assert "g.yaml: field 'require_approval.min_confidence'" in capsys.readouterr().err
    assert not (tmp_path / "y.json").exists()


def test_cli_load_is_idempotent_and_all_or_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CXW_DATA_DIR", str(tmp_path / "svc"))
    monkeypatch.delenv("CXW_DATABASE_URL", raising=False)
    monkeypatch.delenv("CXW_SIGNAL_TOOL_URLS", raising=False)
    simulate_migration(tmp_path / "sim", merchants=20, days=6, seed=1, patterns=("token_v1",))
    path = tmp_path / "sim" / "signals.jsonl"
    total = sum(1 for _ in path.open())
    assert main(["signals", "load", str(path)]) == 0
    assert f"{total:,} stored, 0 already there" in capsys.readouterr().out
    bad = tmp_path / "more.jsonl"
    bad.write_text(path.read_text().splitlines()[0].replace('"id":"', '"id":"new-') + "\n" + '{"id": "x"}\n')
    assert main(["signals", "load", str(path), str(bad)]) == 2
    assert "more.jsonl line 2" in capsys.readouterr().err
    assert main(["signals", "load", str(path)]) == 0
    assert f"0 stored, {total:,} already there" in capsys.readouterr().out
    assert main(["signals", "job", "--window-days", "3"]) == 0  # the stored signals analysed, as the API does
    assert "1 patterns raised" in capsys.readouterr().out

    # the approval queue from the command line; no tool URL is configured
    assert main(["signals", "proposals", "--status", "proposed"]) == 0
    queue = [line.split("\t") for line in capsys.readouterr().out.splitlines() if "\t" in line]
    reissue = next(row for row in queue if row[3] == "reissue_tokens")
    assert reissue[2] == "webhook_post" and reissue[4] == "needs approval"
    assert main(["signals", "execute", reissue[0]]) == 2  # not approved yet
    assert "only an approved proposal runs" in capsys.readouterr().err
    assert main(["signals", "approve", reissue[0], "--reason", "tokens of v1 confirmed"]) == 0
    assert "approved by cli:" in capsys.readouterr().out
    # a dry run needs no URL: it shows what would be sent to which tool, and is audited
    assert main(["signals", "execute", reissue[0]]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["status"] == "approved" and dry["result"]["dry_run"] is True
    assert dry["result"]["tool"] == "webhook_post" and dry["result"]["url"] is None
    assert dry["result"]["body"]["action"] == "reissue_tokens" and "no URL is configured" in dry["result"]["note"]
    # a real run of a tool with no URL is one clear line and exit 2; nothing changes
    assert main(["signals", "execute", reissue[0], "--send"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "tool webhook_post has no URL" in err and "CXW_SIGNAL_TOOL_URLS" in err
    assert main(["signals", "proposals", "--status", "bogus"]) == 2
    assert "--status must be one of" in capsys.readouterr().err

    from backend.commands.service import open_database
    from backend.crud import signals as crud

    _, sessions = open_database()
    with sessions() as session:
        assert crud.get_proposal(session, int(reissue[0])).status == "approved"
        trail = session.execute(sa.text("SELECT action FROM audit WHERE entity_type = 'signal_proposal' "
                                        "AND entity_id = :id ORDER BY id"), {"id": reissue[0]}).scalars().all()
    assert trail == ["signal_proposal.propose", "signal_proposal.approve", "signal_proposal.dry_run"]

    # the workspace's own guardrail policies, validated when the analysis loads them
    bad = tmp_path / "guardrails.yaml"
    bad.write_text("auto_run: [internal_ticket, teleport]\n")
    monkeypatch.setenv("CXW_SIGNAL_GUARDRAILS", str(bad))
    assert main(["signals", "job", "--window-days", "3"]) == 2
    err = capsys.readouterr().err
    assert "guardrails.yaml: field 'auto_run.1'" in err and err.count("\n") == 1
