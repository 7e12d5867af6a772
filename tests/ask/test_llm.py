"""The optional language model against a stand-in OpenAI-compatible server on 127.0.0.1: faithful,
unfaithful and malformed replies, for rephrasing answers and for mapping questions the parser misses."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backend.ask import AskOptions, answer_question, ask
from backend.llm import ChatProvider, faithful_rephrase, unfaithful_numbers


class StandIn:
    """A chat-completions server whose next replies are queued by the test (``reply`` is called with the
    request's user message and returns the body to send: a dict as JSON, or raw text)."""

    def __init__(self):
        self.replies: list = []
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                reply = outer.replies.pop(0)(body["messages"][-1]["content"]) if outer.replies else "no reply"
                data = json.dumps(reply).encode() if isinstance(reply, dict) else str(reply).encode()
                self.send_response(200 if self.path.endswith("/chat/completions") else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.provider = ChatProvider(f"http://127.0.0.1:{self.server.server_address[1]}/v1", "stand-in", "k", 5.0)

    def say(self, make) -> None:
        self.replies.append(lambda user: {"choices": [{"message": {"role": "assistant", "content": make(user)}}]})

    def raw(self, text: str) -> None:
        self.replies.append(lambda user: text)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in():
    server = StandIn()
    yield server
    server.close()


def test_numbers_check():
    template = "Cancellation_rate in last week: 4.8% (against 3.1%, +1.7 points); 1,234 records."
    assert unfaithful_numbers("It rose to 4.8% from 3.1% (+1.7 points) over 1,234 records.", template) == []
    assert unfaithful_numbers("It rose to 4.9% from 3.1%.", template) == ["4.9"]
    assert unfaithful_numbers("It rose to 5% from 3.1%.", template) == ["5"]


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
    result = faithful_rephrase(stand_in.provider, "The number of records: 12.")
    assert not result.by_model and result.text == "The number of records: 12." and "no usable text" in result.rejected


def test_no_server_falls_back():
    provider = ChatProvider("http://127.0.0.1:9/v1", "none", None, 0.5)
    assert faithful_rephrase(provider, "The number of records: 12.").text == "The number of records: 12."


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
