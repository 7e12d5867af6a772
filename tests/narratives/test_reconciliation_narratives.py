"""The reconciliation report's narrative paragraphs (the verdict, each pattern's likely cause and
remediation) through the narrator: today's report without a model, each kind of model reply, and `cxw
reconcile` against the stand-in on 127.0.0.1.

The fixture is the `summary.json` of a generated billing migration (1,000 accounts, seed 2) and
``reconciliation-report.md`` the report the code before the narrative seam rendered from it."""

from __future__ import annotations

import csv

import pytest
from pypdf import PdfReader

from backend.cli import main
from data.synthetic.billing import generate_billing
from recommendations.reconcile import ReconciliationSummary, render_markdown
from tests.llm_standin import reworded, stand_in  # noqa: F401  (the fixture)
from tests.narratives.conftest import FIXTURES, check_mixed, check_narration


@pytest.fixture(scope="module")
def summary() -> ReconciliationSummary:
    return ReconciliationSummary.model_validate_json((FIXTURES / "reconciliation-summary.json").read_text())


def test_without_a_model_the_report_is_the_templates_report(summary):
    assert render_markdown(summary) == (FIXTURES / "reconciliation-report.md").read_text()


def test_each_model_reply(summary, reply, server, caplog):
    text = check_narration(lambda narrate: render_markdown(summary, narrate), reply, server, caplog)
    if reply.rejected is None:
        assert "\nIn short: The two sides differ: of 1,000 legacy records, 2 are missing" in text
        assert "- **Remediation**: In short: Correct the mapping rule that turns 'GAS_STD' into 'GAS_FIX'" in text


def test_a_rejected_paragraph_keeps_its_template_beside_a_reworded_one(summary, stand_in):  # noqa: F811
    check_mixed(lambda narrate: render_markdown(summary, narrate), stand_in)


def test_cxw_reconcile_words_the_report_and_its_pdf_through_the_configured_model(tmp_path, stand_in,  # noqa: F811
                                                                                   monkeypatch):
    generate_billing(tmp_path / "pair", accounts=1000, seed=2)
    monkeypatch.setenv("CXW_LLM_BASE_URL", stand_in.provider.base_url)
    monkeypatch.setenv("CXW_LLM_MODEL", "stand-in")
    stand_in.always(reworded)
    code = main(["reconcile", "--legacy", str(tmp_path / "pair" / "legacy.csv"), "--migrated",
                 str(tmp_path / "pair" / "migrated.csv"), "--key", "account_id", "--tolerance", "balance=0.01",
                 "--out", str(tmp_path / "recon"), "--quiet"])
    assert code == 1  # the sides differ
    report = (tmp_path / "recon" / "report.md").read_text()
    summary = ReconciliationSummary.model_validate_json((tmp_path / "recon" / "summary.json").read_text())
    assert report.split("\n")[2].startswith("**Narrative:** reworded by the language model `stand-in`, every number "
                                            "checked against the computed ones: the verdict; pattern 1's likely cause")
    assert len(stand_in.requests) == 1 + 2 * len(summary.findings)
    assert report.count("In short: ") == len(stand_in.requests)
    pdf = " ".join(page.extract_text() for page in PdfReader(tmp_path / "recon" / "report.pdf").pages)
    assert "Narrative:" in pdf and "In short: The two sides differ" in " ".join(pdf.split())
    # no record reaches the model: neither an impacted customer's id nor an account's e-mail
    with open(tmp_path / "recon" / "impacted_customers.csv", newline="") as fh:
        customers = [row["customer"] for row in csv.DictReader(fh)]
    sent = "\n".join(stand_in.user_texts())
    assert customers and not any(c in sent for c in customers) and "@example.com" not in sent
