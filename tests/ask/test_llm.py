"""The optional language model against a stand-in OpenAI-compatible server on 127.0.0.1: faithful,
unfaithful and malformed replies, for rephrasing answers and for mapping questions the parser misses."""

from __future__ import annotations

import json

import pytest

from backend.ask import AskOptions, answer_question, ask
from backend.llm import ChatProvider, ModelNarrator, faithful_rephrase
from data.narrative import Paragraph, rewording_problem
from tests.llm_standin import stand_in  # noqa: F401  (the fixture)


def test_numbers_check():
    template = Paragraph.of("the answer",
                            "Cancellation_rate in last week: 4.8% (against 3.1%, +1.7 points); 1,234 records.")
    assert rewording_problem("It rose to 4.8% from 3.1% (+1.7 points) over 1,234 records.", template) is None
    assert rewording_problem("It rose 1.7 pp to 4.80 percent from 3.1% over 1234 records.", template) is None
    assert rewording_problem("It rose to 4.9% from 3.1%.", template) == "numbers that were not computed (4.9%)"
    assert rewording_problem("It rose to 5% from 3.1%.", template) == "numbers that were not computed (5%)"
    assert rewording_problem("It rose by 1.7% to 4.8% from 3.1% over 1,234.", template) == \
        "numbers that were not computed (1.7%)"  # points are not percent
    assert rewording_problem("It rose to 4.8% from 3.1% (+1.7 points).", template) == \
        "computed numbers left out (1,234)"
    assert rewording_problem("p = 1e-9, 4.8% 3.1% 1.7 1,234", Paragraph.of("p", "p = 1.2e-9")) is not None


def test_faithful_rephrase_is_used(stand_in, cx_open):
    stand_in.say(lambda user: "Late orders in the west yesterday: " + user.rsplit(": ", 1)[1])
    answer = answer_question(*cx_open, "how many orders were late in region west yesterday",
                             options=AskOptions(provider=stand_in.provider))
    plain = answer_question(*cx_open, "how many orders were late in region west yesterday")
    assert answer.text_by == "model" and answer.text.startswith("Late orders in the west yesterday: ")
    assert answer.text.endswith(plain.text.rsplit(": ", 1)[1]) and answer.rows == plain.rows
    assert stand_in.requests[0]["model"] == "stand-in" and stand_in.requests[0]["temperature"] == 0


def test_unfaithful_rephrase_is_rejected(stand_in, cx_open):
    stand_in.say(lambda user: "About 9,999 orders were late yesterday, a record high.")
    answer = answer_question(*cx_open, "how many orders were late in region west yesterday",
                             options=AskOptions(provider=stand_in.provider))
    plain = answer_question(*cx_open, "how many orders were late in region west yesterday")
    assert answer.text_by == "template" and answer.text == plain.text
    assert any("not computed (9,999)" in a for a in answer.assumptions)


@pytest.mark.parametrize("reply", ["not json at all", json.dumps({"choices": []}), json.dumps({"error": "x"}),
                                   json.dumps({"choices": [{"message": {"content": ""}}]})])
def test_malformed_replies_fall_back_to_the_template(reply, stand_in):
    stand_in.raw(reply)
    result = faithful_rephrase(stand_in.provider, Paragraph.of("p", "The number of records: 12."))
    assert not result.by_model and result.text == "The number of records: 12." and "no usable text" in result.rejected


def test_no_server_falls_back():
    provider = ChatProvider("http://127.0.0.1:9/v1", "none", None, 0.5)
    result = faithful_rephrase(provider, Paragraph.of("p", "The number of records: 12."))
    assert result.text == "The number of records: 12." and not result.answered


def test_model_maps_a_missed_question_onto_the_intent(stand_in, cx_open, cx_records):
    intent = {"measure": {"kind": "count", "metric": "cancellation_rate"},
              "filters": [{"dimension": "region", "values": ["north"]}]}
    stand_in.say(lambda user: "Here you go: " + json.dumps(intent))
    stand_in.say(lambda user: user)  # the rephrasing: the text unchanged
    question = "tally up the scrapped deliveries up north"
    assert not answer_question(*cx_open, question).answered  # the parser alone refuses
    answer = answer_question(*cx_open, question, options=AskOptions(provider=stand_in.provider))
    assert answer.answered and answer.interpreted_by == "model"
    assert answer.rows[0].value == int((cx_records.cancelled & (cx_records.region == "north")).sum())
    assert "?" in answer.query and "north" not in answer.query
    assert any("language model 'stand-in' chose this interpretation" in a for a in answer.assumptions)


@pytest.mark.parametrize("reply", [
    "SELECT count(*) FROM records; DROP TABLE records",
    json.dumps({"measure": {"kind": "metric", "metric": "revenue"}}),
    json.dumps({"measure": {"kind": "count"}, "group_by": "region); DROP TABLE records; --"}),
    json.dumps({"measure": {"kind": "count"}, "filters": [{"dimension": "region", "values": ["atlantis"]}]}),
    json.dumps({"measure": {"kind": "count"}, "sql": "SELECT 1"}),
    "NONE",
])
def test_model_mappings_that_do_not_fit_are_refused(reply, stand_in, cx_open):
    stand_in.say(lambda user: reply)
    answer = answer_question(*cx_open, "tally up the scrapped deliveries up north",
                             options=AskOptions(provider=stand_in.provider))
    assert not answer.answered and answer.rows == () and answer.query is None


def test_forecasts_are_not_sent_to_the_model(stand_in, cx_open):
    answer = answer_question(*cx_open, "how many orders will be late tomorrow",
                             options=AskOptions(provider=stand_in.provider))
    assert not answer.answered and stand_in.requests == []


def test_reconciliation_narrative_rephrased_faithfully(stand_in, recon_output):
    folder, truth = recon_output
    stand_in.say(lambda user: "Missing after the migration — " + user.split(": ", 1)[1])
    answer = ask(folder, "how many records are missing after the migration", options=AskOptions(provider=stand_in.provider))
    assert answer.text_by == "model" and answer.text.endswith(f"lost: {len(truth['lost'])}.")


def test_a_rewording_that_drops_the_answers_value_is_rejected(stand_in, cx_open):
    stand_in.say(lambda user: user.rsplit(": ", 1)[0] + ".")  # the interpretation (with its dates), no value
    answer = answer_question(*cx_open, "how many orders were late in region west yesterday",
                             options=AskOptions(provider=stand_in.provider))
    assert answer.text_by == "template"
    assert any("computed numbers left out" in a for a in answer.assumptions)


def test_a_report_narrator_says_when_the_model_changed_nothing(stand_in):
    stand_in.always(lambda user: user)
    narrator = ModelNarrator(stand_in.provider)
    assert narrator(Paragraph.of("the verdict", "12 records differ.")) == "12 records differ."
    assert narrator.provenance() == ("**Narrative:** the templates' text (the language model `stand-in` was not "
                                     "used: it returned the text unchanged).")
