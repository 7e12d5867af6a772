"""The signal report in words (`cxw signals analyze --markdown`): its paragraphs (the overview, one per
raised pattern) written from the `SignalReport`'s numbers, each kind of model reply, and the command
against the stand-in on 127.0.0.1. Signals: a simulated migration of 60 merchants over 10 days."""

from __future__ import annotations

import pytest

from backend.cli import main
from backend.signal_report import render_signal_markdown
from backend.signals_analysis import SignalReport, investigate_signals
from data.signals import read_signals
from data.synthetic.signals import simulate_migration
from tests.llm_standin import reworded, stand_in  # noqa: F401  (the fixture)
from tests.narratives.conftest import Recording, check_mixed, check_narration


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("signals")
    simulate_migration(folder, merchants=60, days=10, seed=11)
    return folder, investigate_signals(read_signals([folder / "signals.jsonl"]))


def test_paragraphs_say_the_reports_numbers_and_no_signal(simulated):
    folder, report = simulated
    recording = Recording()
    text = render_signal_markdown(report, recording)
    overview, *stories = recording.paragraphs
    raised = [p for p in report.patterns if p.spike.raised]
    assert overview.text.startswith(f"{report.signals:,} signals from {report.merchants:,} merchants "
                                    f"({report.migrated:,} of them migrating)")
    assert overview.text.endswith(f"{report.raised:,} pattern(s) rose.")
    assert len(stories) == len(raised) == report.raised >= 2
    for story, p in zip(stories, raised, strict=True):
        assert story.text.startswith(f"{p.signals:,} signals from {p.merchants_affected:,} of the "
                                     f"{report.merchants:,} merchants ({p.merchant_share:.0%}). In the window "
                                     f"they came at {p.spike.window_per_hour:.2f} an hour against "
                                     f"{p.spike.baseline_per_hour:.2f} before")
        assert f"### {stories.index(story) + 1}. {p.label} (severity {p.severity})" in text
    callback = next(s for s, p in zip(stories, raised) if p.hypotheses[0].id == "callback_url_change")
    assert "just after their migration" in callback.text and "The likely cause is callback_url_change" in callback.text
    # nothing of a signal itself: no sample text, no mined template, no merchant id
    said = " ".join(p.text for p in recording.paragraphs)
    for p in report.patterns:
        assert not any(s.text[:40] in said or s.merchant_id in said for s in p.samples)
        assert p.template not in said
    assert "**Narrative:**" not in text  # the templates say nothing about themselves


def test_each_model_reply(simulated, reply, server, caplog):
    _, report = simulated
    text = check_narration(lambda narrate: render_signal_markdown(report, narrate), reply, server, caplog)
    if reply.rejected is None:
        assert f"\nIn short: {report.signals:,} signals from {report.merchants:,} merchants" in text


def test_a_rejected_paragraph_keeps_its_template_beside_a_reworded_one(simulated, stand_in):  # noqa: F811
    _, report = simulated
    check_mixed(lambda narrate: render_signal_markdown(report, narrate), stand_in)


def test_cxw_signals_analyze_writes_the_report_in_words(simulated, tmp_path, stand_in, monkeypatch):  # noqa: F811
    folder, _ = simulated
    args = ["signals", "analyze", str(folder / "signals.jsonl"), "--out", str(tmp_path / "report.json"),
            "--markdown", str(tmp_path / "report.md")]
    assert main(args) == 0
    report = SignalReport.model_validate_json((tmp_path / "report.json").read_text())
    assert (tmp_path / "report.md").read_text() == render_signal_markdown(report)  # no model: the templates
    monkeypatch.setenv("CXW_LLM_BASE_URL", stand_in.provider.base_url)
    monkeypatch.setenv("CXW_LLM_MODEL", "stand-in")
    stand_in.always(reworded)
    assert main(args) == 0
    words = (tmp_path / "report.md").read_text()
    assert len(stand_in.requests) == 1 + report.raised
    assert words.count("In short: ") == 1 + report.raised
    assert words.split("\n")[2].startswith("**Narrative:** reworded by the language model `stand-in`")
