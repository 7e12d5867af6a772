"""The narrative seam of the three reports against the stand-in model on 127.0.0.1: every report kind is
rendered with each kind of reply (faithful, a changed number, an invented number, numbers left out,
malformed, a timeout) and the result is checked against the templates' own report."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend.llm import REPHRASE_SYSTEM, ModelNarrator
from data.narrative import Narrator, Paragraph, Templates
from tests.llm_standin import StandIn, changed_number, invented_number, reworded

FIXTURES = Path(__file__).parent / "fixtures"


class Recording(Templates):
    """The templates, keeping every paragraph handed over."""

    def __init__(self):
        self.paragraphs: list[Paragraph] = []

    def __call__(self, paragraph: Paragraph) -> str:
        self.paragraphs.append(paragraph)
        return paragraph.text


@dataclass(frozen=True)
class Reply:
    name: str
    setup: Callable[[StandIn], None]
    rejected: str | None  # None: the rewording is used; else part of the reason the template's text is kept
    answered: bool = True  # False: the model is not asked again after the first paragraph


REPLIES = [
    Reply("faithful", lambda s: s.always(reworded), None),
    Reply("changed number", lambda s: s.always(changed_number), "numbers that were not computed"),
    Reply("invented number", lambda s: s.always(invented_number), "numbers that were not computed (98,765)"),
    Reply("malformed", lambda s: s.always_raw('{"choices": []}'), "no usable text", answered=False),
    Reply("not json", lambda s: s.always_raw("<html>busy</html>"), "no usable text", answered=False),
    Reply("timeout", lambda s: s.always_slow(2.0), "no usable text (ReadTimeout", answered=False),
]


@pytest.fixture(params=REPLIES, ids=lambda r: r.name)
def reply(request):
    return request.param


@pytest.fixture
def server(reply):
    """A stand-in for ``reply``: its provider gives up after 0.3 s for the timeout, else after 5 s."""
    stand_in = StandIn(timeout=0.3 if reply.name == "timeout" else 5.0)
    yield stand_in
    stand_in.close()


def without_provenance(text: str) -> str:
    lines = text.split("\n")
    assert lines[2].startswith("**Narrative:** ") and lines[3] == "", lines[:4]
    return "\n".join(lines[:2] + lines[4:])


def check_narration(render: Callable[[Narrator], str], reply: Reply, server: StandIn, caplog) -> str:
    """Render with the templates and with the model replying ``reply``; check what the model received,
    which text the report holds and its provenance line. Returns the model's report."""
    recording = Recording()
    default = render(recording)
    paragraphs = recording.paragraphs
    assert len(paragraphs) >= 2
    reply.setup(server)
    narrator = ModelNarrator(server.provider)
    with caplog.at_level(logging.INFO, logger="cxw.llm"):
        text = render(narrator)
    # the model receives the fixed instruction and one paragraph's text per request, nothing else
    asked = paragraphs if reply.answered else paragraphs[:1]
    assert [r["messages"] for r in server.requests] == [
        [{"role": "system", "content": REPHRASE_SYSTEM}, {"role": "user", "content": p.text}] for p in asked]
    assert all(set(r) == {"model", "temperature", "messages"} for r in server.requests)
    provenance = text.split("\n")[2]
    if reply.rejected is None:
        for p in paragraphs:
            assert reworded(p.text) in text
        assert without_provenance(text).count("In short: ") == len(paragraphs)
        assert provenance == ("**Narrative:** reworded by the language model `stand-in`, every number checked "
                              f"against the computed ones: {'; '.join(p.label for p in paragraphs)}.")
    else:
        assert without_provenance(text) == default  # every paragraph is the template's text
        assert provenance.startswith("**Narrative:** the templates' text (the language model `stand-in` was not used: ")
        assert reply.rejected in provenance
        level = logging.INFO if reply.answered else logging.WARNING
        assert any(r.levelno == level and paragraphs[0].label in r.getMessage() for r in caplog.records)
    return text


def check_mixed(render: Callable[[Narrator], str], server: StandIn) -> None:
    """The first paragraph reworded faithfully, the others with a changed number: only the first is the
    model's, and the provenance line names it alone."""
    recording = Recording()
    default = render(recording)
    first, second = recording.paragraphs[:2]
    server.say(reworded)
    server.always(changed_number)
    text = render(ModelNarrator(server.provider))
    assert reworded(first.text) in text and second.text in text
    assert without_provenance(text).replace(reworded(first.text), first.text, 1) == default
    assert text.split("\n")[2] == ("**Narrative:** reworded by the language model `stand-in`, every number checked "
                                   f"against the computed ones: {first.label}; the other paragraphs are the "
                                   "templates' text.")
