"""An optional OpenAI-compatible language model, kept honest (off unless ``CXW_LLM_BASE_URL`` is set).

It may do two things, and its output is checked before anything uses it:

- **rephrase** a narrative the templates wrote from computed values (`faithful_rephrase`): every number
  in its text must equal a number of the template's text (the computed values as shown) — a number it
  invents, changes or rounds differently rejects the text, and the template's text is used;
- **map a question** the deterministic parser misses onto the same `Intent` schema (`map_question`) —
  never onto SQL: the reply must be one JSON object that validates as an `Intent`, names only the
  workspace's metrics and dimensions and only real dimension values; it then compiles and runs like any
  other intent, and the answer says the model chose the interpretation.

The call is one ``POST {base_url}/chat/completions`` with httpx (temperature 0); a timeout, an HTTP error
or a malformed reply counts as no answer. Checking generated text against the source numbers follows the
faithfulness checks of data-to-text generation (Wiseman, Shieber and Rush, "Challenges in Data-to-Document
Generation", EMNLP 2017: record-generation precision).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import httpx
from pydantic import ValidationError

from metrics.questions.compiler import IntentError, check_intent
from metrics.questions.intent import Intent
from metrics.questions.vocabulary import Vocabulary

NUMBER = re.compile(r"(?<![\w.])[-+−]?\d[\d,]*(?:\.\d+)?")
MAX_REPLY = 20_000


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
                           timeout=self.timeout_seconds)
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


def _value(token: str) -> float:
    return float(token.replace(",", "").replace("−", "-"))


def numbers_in(text: str) -> list[float]:
    """Every number written in ``text`` (thousands separators and signs read)."""
    return [_value(t) for t in NUMBER.findall(text)]


def unfaithful_numbers(candidate: str, template: str) -> list[str]:
    """The numbers of ``candidate`` that are not numbers of ``template`` (the computed values as shown)."""
    allowed = {abs(v) for v in numbers_in(template)}
    return [t for t in NUMBER.findall(candidate) if abs(_value(t)) not in allowed]


REPHRASE_SYSTEM = ("You rewrite analytics answers for a product manager in plain, short English. Keep every "
                   "number exactly as written (same digits, same decimals, same units); add no number, no date "
                   "and no claim that is not in the text. Reply with the rewritten text only.")


@dataclass(frozen=True)
class Rephrased:
    text: str
    by_model: bool
    rejected: str | None = None  # why the model's text was not used


def faithful_rephrase(provider: ChatProvider | None, template: str) -> Rephrased:
    """The model's rewording of ``template`` when every number in it is one of the template's; else the
    template, with the reason."""
    if provider is None:
        return Rephrased(template, False)
    try:
        candidate = provider.complete(REPHRASE_SYSTEM, template)
    except ProviderError as err:
        return Rephrased(template, False, f"the language model gave no usable text ({err})")
    bad = unfaithful_numbers(candidate, template)
    if bad:
        return Rephrased(template, False, f"the language model's text had numbers that were not computed ({', '.join(bad[:3])})")
    if numbers_in(template) and not numbers_in(candidate):
        return Rephrased(template, False, "the language model's text left out the computed numbers")
    return Rephrased(candidate, True)


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
