"""Questions outside what the parser supports get "I can't answer that", the closest supported questions
and no number; a follow-up without its context is refused too."""

from __future__ import annotations

import pytest

from backend.ask import answer_question, ask

REFUSALS = [
    ("what's the weather in west", "did not understand 'weather'"),
    ("why did the on time rate drop last week", "root-cause"),
    ("how many orders will be late tomorrow", "forecast"),
    ("forecast the cancellation rate for next week", "forecast"),
    ("delete all orders", "did not understand 'delete'"),
    ("", "no question"),
    ("???", "no question"),
    ("how many orders in region atlantis", "'atlantis' is not a region"),
    ("on time rate by courier", "several metrics"),
    ("how many orders had refunds", "refund_per_order is a ratio"),
    ("how many orders were late in march 2025", "no records in March 2025"),
    ("on time rate vs the week before", "needs a time range"),
    ("and the week before?", "before what"),
    ("which region", "names no metric"),
    ("top 5 by cancellation rate", "which dimension"),
    ("what was the revenue last week", "did not understand 'revenue'"),
    ("average delivery time on February 30", "not a date"),
    ("which region had the best count of orders", "say highest or lowest"),
    ("x" * 501, "longer than 500"),
    ("how many orders in region west'; DROP TABLE records; --", "did not understand 'drop'"),
    ("on time rate between March 9 and March 2", "before"),
]


def test_enough_refusals():
    assert len(REFUSALS) >= 15


@pytest.mark.parametrize("question,reason", REFUSALS)
def test_refused_without_a_number(question, reason, cx_open):
    answer = answer_question(*cx_open, question)
    assert not answer.answered
    assert answer.text.startswith("I can't answer that")
    assert reason in answer.text, answer.text
    assert answer.rows == () and answer.query is None and answer.intent is None
    assert len(answer.suggestions) == 3 and all(s.endswith("?") for s in answer.suggestions)


def test_suggestions_are_answerable(cx_workspace):
    """The closest supported questions offered with a refusal are themselves answered."""
    answer = ask(cx_workspace, "what was the revenue last week")
    for suggestion in answer.suggestions:
        assert ask(cx_workspace, suggestion).answered, suggestion


def test_every_supported_question_is_answered(cx_open):
    from metrics.questions.parser import QuestionParser

    for _, question in QuestionParser(cx_open[1]).supported_questions():
        assert answer_question(*cx_open, question).answered, question
