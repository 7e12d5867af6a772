"""An optional OpenAI-compatible language model, kept honest (off unless ``CXW_LLM_BASE_URL`` is set).

It may do two things, and its output is checked before anything uses it:

- **reword** a narrative paragraph the templates wrote from computed values (`faithful_rephrase`; for
  reports `ModelNarrator`, the `data.narrative.Narrator` the incident, reconciliation and signal reports
  hand their paragraphs to): the rewording is kept only when `data.narrative.rewording_problem` finds
  none — every number in it is a number of the template as shown and none required is left out;
  otherwise the template's text is used;
- **map a question** the deterministic parser misses onto the same `Intent` schema (`map_question`) —
  never onto SQL: the reply must be one JSON object that validates as an `Intent`, names only the
  workspace's metrics and dimensions and only real dimension values; it then compiles and runs like any
  other intent, and the answer says the model chose the interpretation.

The call is one ``POST {base_url}/chat/completions`` with httpx (temperature 0) holding a fixed
instruction and the paragraph's text (or the question and the workspace's names) — nothing else; a
timeout, an HTTP error or a malformed reply counts as no answer, is logged, and leaves the template's text.
Checking generated text against the source numbers follows the faithfulness checks of data-to-text
generation (Wiseman, Shieber and Rush, "Challenges in Data-to-Document Generation", EMNLP 2017:
record-generation precision).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import ssl
from dataclasses import dataclass

import httpx
from pydantic import ValidationError

from data.narrative import TEMPLATES, Narrator, Paragraph, rewording_problem
from metrics.questions.compiler import IntentError, check_intent
from metrics.questions.intent import Intent
from metrics.questions.vocabulary import Vocabulary

MAX_REPLY = 20_000
log = logging.getLogger("cxw.llm")


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every call (building one per request costs more than a local model's reply)."""
    return httpx.create_ssl_context()


class ProviderError(Exception):
    """The model could not be reached or did not answer in the expected form."""


@dataclass(frozen=True)
class ChatProvider:
    """An OpenAI-compatible chat-completions endpoint."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout_seconds: float = 20.0

    def complete(self, system: str, user: str) -> str:
        """The model's reply text; `ProviderError` on any failure."""
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {"model": self.model, "temperature": 0,
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}
        try:
            r = httpx.post(self.base_url.rstrip("/") + "/chat/completions", json=body, headers=headers,
                           timeout=self.timeout_seconds, verify=_tls())
            r.raise_for_status()
            content = r.json()["choices"][0]["message"]["content"]
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as err:
            raise ProviderError(f"{type(err).__name__}: {err}") from None
        if not isinstance(content, str) or not content.strip() or len(content) > MAX_REPLY:
            raise ProviderError("the reply holds no usable text")
        return content.strip()


def provider_from_settings(settings) -> ChatProvider | None:
    if not settings.llm_base_url:
        return None
    return ChatProvider(settings.llm_base_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout_seconds)


REPHRASE_SYSTEM = ("You rewrite one paragraph of an analytics report or answer for a product manager in plain, "
                   "short English. Keep every number exactly as written (same digits, same decimals, same units); "
                   "add no number, no date and no claim that is not in the text. Reply with the rewritten text only.")


@dataclass(frozen=True)
class Rephrased:
    text: str
    by_model: bool
    rejected: str | None = None  # why the model's text was not used, as a sentence
    problem: str | None = None  # the same, short: "no usable text (…)" or what `rewording_problem` found
    answered: bool = True  # False: the model gave no usable reply (timeout, HTTP error, malformed)


def faithful_rephrase(provider: ChatProvider | None, paragraph: Paragraph) -> Rephrased:
    """The model's rewording of ``paragraph`` when `rewording_problem` finds none; else its template's
    text, with the reason. Only the paragraph's text is sent."""
    if provider is None:
        return Rephrased(paragraph.text, False)
    try:
        candidate = provider.complete(REPHRASE_SYSTEM, paragraph.text)
    except ProviderError as err:
        log.warning("language model %r gave no usable text for %s (%s): the template's text is used",
                    provider.model, paragraph.label, err)
        return Rephrased(paragraph.text, False, f"the language model gave no usable text ({err})",
                         f"no usable text ({err})", answered=False)
    problem = rewording_problem(candidate, paragraph)
    if problem is not None:
        log.info("language model %r's rewording of %s rejected: %s", provider.model, paragraph.label, problem)
        return Rephrased(paragraph.text, False, f"the language model's text had {problem}", problem)
    return Rephrased(candidate, True)


class ModelNarrator:
    """A report's narrator with a language model (`data.narrative.Narrator`): each paragraph reworded when
    the rewording keeps the numbers (`faithful_rephrase`), else the template's text. After the first
    paragraph the model does not answer (timeout, error, malformed reply) the rest of the report is not sent
    (one report waits for at most one timeout). One per report: it remembers which paragraphs it reworded
    for the report's provenance line."""

    def __init__(self, provider: ChatProvider):
        self.provider = provider
        self.reworded: list[str] = []
        self.kept: list[tuple[str, str]] = []  # (label, why the template's text was kept)
        self.down: str | None = None

    def __call__(self, paragraph: Paragraph) -> str:
        if self.down is not None:
            self.kept.append((paragraph.label, self.down))
            return paragraph.text
        result = faithful_rephrase(self.provider, paragraph)
        if result.by_model and result.text != paragraph.text:
            self.reworded.append(paragraph.label)
        elif result.by_model:
            self.kept.append((paragraph.label, "it returned the text unchanged"))
        else:
            self.kept.append((paragraph.label, result.problem or ""))
            if not result.answered:
                self.down = result.problem
        return result.text

    def provenance(self) -> str | None:
        """One line: which paragraphs the model reworded, or that the templates' text was kept and why."""
        model = f"the language model `{self.provider.model}`"
        if self.reworded:
            rest = "; the other paragraphs are the templates' text" if self.kept else ""
            return (f"**Narrative:** reworded by {model}, every number checked against the computed ones: "
                    f"{'; '.join(self.reworded)}{rest}.")
        if self.kept:
            return f"**Narrative:** the templates' text ({model} was not used: {self.kept[0][1]})."
        return None


def narrator_from_settings(settings) -> Narrator:
    """A fresh `ModelNarrator` (one per report) when a language model is configured, else `TEMPLATES`."""
    provider = provider_from_settings(settings)
    return TEMPLATES if provider is None else ModelNarrator(provider)


def _schema_prompt(vocab: Vocabulary) -> str:
    dims = {d: list(values[:30]) for d, values in vocab.dimensions.items()}
    metrics = [{"name": m.name, "type": m.type, "good": m.good, "expr": m.expr} for m in vocab.metrics]
    return ("Map the user's question about a dataset onto ONE JSON object of this JSON schema, or reply "
            "NONE if it does not fit. Never write SQL.\n"
            f"Schema: {json.dumps(Intent.model_json_schema())}\n"
            f"Metrics: {json.dumps(metrics)}\nDimensions and some of their values: {json.dumps(dims)}\n"
            f"The records run from {vocab.first.isoformat()} to {vocab.last.isoformat()}.")


def map_question(provider: ChatProvider, question: str, vocab: Vocabulary) -> tuple[Intent | None, str | None]:
    """The model's `Intent` for ``question``, checked against the workspace, or (None, why not)."""
    try:
        reply = provider.complete(_schema_prompt(vocab), question)
    except ProviderError as err:
        return None, f"the language model gave no answer ({err})"
    match = re.search(r"\{.*\}", reply, re.S)
    if match is None:
        return None, "the language model found no interpretation"
    try:
        intent = Intent.model_validate_json(match.group(0))
        check_intent(intent, vocab)
    except (ValidationError, IntentError, ValueError) as err:
        first = err.errors()[0]["msg"] if isinstance(err, ValidationError) else str(err)
        return None, f"the language model's interpretation does not fit this workspace ({first})"
    for f in intent.filters:
        unknown = [v for v in f.values if v not in vocab.dimensions[f.dimension]]
        if unknown:
            return None, f"the language model named {unknown[0]!r}, which is not a {f.dimension} of this workspace"
    return intent, None
