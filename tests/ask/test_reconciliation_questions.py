"""Questions over a `cxw reconcile` output, with answers from the billing generator's truth.json."""

from __future__ import annotations

import math

import pytest

from backend.ask import ask
from backend.cli import main


def _expected(truth: dict) -> list[tuple[str, list[tuple[str, float]]]]:
    dup, lost = set(truth["duplicated"]), set(truth["lost"])
    balances = {int(k): v for k, v in truth["balances"].items()}
    kept = lambda keys: sorted(set(keys) - dup - lost)  # noqa: E731  (set-aside and lost accounts are not compared)
    differing = set(kept(truth["product_systematic"])) | set(kept(truth["status_isolated"])) | \
        set(kept(truth["balance_changed"])) | set(kept(truth["email_changed"]))
    product = len(kept(truth["product_systematic"]))
    return [
        ("How many transactions are missing after the migration and what is their amount?",
         [("lost", len(lost)), ("missing Balance", sum(balances[k] for k in lost))]),
        ("how many records were lost", [("lost", len(lost))]),
        ("how many accounts are unexpected in the migrated system",
         [("unexpected", len(truth["unexpected"]))]),
        ("how many unexpected records and how much are they worth",
         [("unexpected", len(truth["unexpected"])), ("unexpected Balance", sum(balances[k] for k in truth["unexpected"]))]),
        ("how many records differ", [("with_differences", len(differing))]),
        ("how many balances differ", [("Balance differ", len(kept(truth["balance_changed"])))]),
        ("how many product values differ", [("Product differ", product)]),
        ("how many e-mails are different", [("E-mail differ", len(kept(truth["email_changed"])))]),
        ("how many statuses changed", [("Status differ", len(kept(truth["status_isolated"])))]),
        ("which pattern affects the most records", [("Product: GAS_STD → GAS_FIX", product)]),
        ("which systematic patterns are there", [("Product: GAS_STD → GAS_FIX", product)]),
        ("how many duplicate keys are there", [("duplicate keys legacy", 0), ("duplicate keys migrated", len(dup))]),
        ("how many records in the legacy system", [("legacy_rows", truth["accounts"])]),
        ("how many records were matched", [("matched", truth["accounts"] - len(lost) - len(dup))]),
    ]


def test_reconciliation_golden(recon_output):
    folder, truth = recon_output
    table = _expected(truth)
    assert len(table) >= 12
    for question, rows in table:
        answer = ask(folder, question)
        assert answer.answered, (question, answer.text)
        got = [(r.label, r.value) for r in answer.rows]
        if len(rows) == 2 and rows[1][0].startswith(("missing", "unexpected ")):
            got = got[:2]  # the Balance amount comes first; the Deposit amount follows
        assert [g[0] for g in got] == [e[0] for e in rows], (question, got, rows)
        assert all(math.isclose(g[1], e[1], rel_tol=1e-9, abs_tol=1e-9) for g, e in zip(got, rows)), (question, got, rows)
        assert answer.query.startswith("read from summary.json")


def test_reconciliation_follow_up(recon_output):
    folder, truth = recon_output
    first = ask(folder, "how many records are missing after the migration")
    again = ask(folder, "and their amount?", first.intent)
    assert again.answered and again.rows[0].value == len(truth["lost"])
    balances = {int(k): v for k, v in truth["balances"].items()}
    assert math.isclose(again.rows[1].value, sum(balances[k] for k in truth["lost"]), rel_tol=1e-9)


@pytest.mark.parametrize("question", ["what is the weather", "how many orders were late yesterday",
                                      "how many customers will be impacted next week", "drop table lost"])
def test_reconciliation_refusals(question, recon_output):
    answer = ask(recon_output[0], question)
    assert not answer.answered and answer.rows == () and answer.suggestions


def test_engine_is_refused_for_a_reconciliation_output(recon_output, capsys):
    assert main(["ask", str(recon_output[0]), "how many records were lost", "--engine", "spark"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is a reconciliation output, whose questions read its summary.json" in err
