"""Questions in plain language, answered by computation: the one composition function (`ask`) the CLI
(`cxw ask`) and the API (``POST /api/ask``) call.

The source is a workspace (questions over its records, compiled through its metric definitions) or a
`cxw reconcile` output folder (questions over its findings). The deterministic parser reads the question;
when it cannot and a language model is configured (`backend.llm`, off by default), the model may map the
question onto the same `Intent` schema — never onto SQL — and the intent is checked against the workspace
like any context before it runs. The answer's text may then be rephrased by the model, kept only when
every number in it is one the engine computed.

A workspace's questions run on its engine (`data.engines`: DuckDB, or Spark for ``engine: spark`` or
``--engine spark``): the vocabulary's scans and the compiled query, the same SQL on both. A reconciliation
output's questions read its ``summary.json`` in Python, with no engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from backend.llm import ChatProvider, faithful_rephrase, map_question, provider_from_settings
from backend.settings import Settings
from data.engines import EngineName
from data.narrative import Paragraph
from data.errors import UserError
from data.paths import PathGuard
from data.sources import OpenWorkspace, open_workspace
from metrics.questions.answering import answer_intent, refusal
from metrics.questions.compiler import IntentError, check_intent
from metrics.questions.intent import Answer, Intent
from metrics.questions.parser import MAX_QUESTION, Parsed, QuestionParser
from metrics.questions.reconparse import ReconParser
from metrics.questions.vocabulary import Vocabulary, workspace_vocabulary
from recommendations.reconcile import ReconciliationSummary
from recommendations.reconcile_questions import answer_reconciliation, recon_vocabulary

SUMMARY_FILE = "summary.json"


@dataclass(frozen=True)
class AskOptions:
    """Limits and the optional language model (None = off)."""

    timeout_seconds: float = 10.0
    provider: ChatProvider | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "AskOptions":
        return cls(settings.ask_timeout_seconds, provider_from_settings(settings))


def is_reconciliation_output(path: Path) -> bool:
    return path.is_dir() and (path / SUMMARY_FILE).is_file() and not (path / "workspace.yaml").exists()


def load_context(text: str, where: str) -> Intent:
    """A follow-up's context: an `Intent`, or a whole previous `Answer` (its intent), as JSON. Every field
    is validated here; names are checked against the workspace when the intent runs."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(f"{where}: not JSON ({err.msg} at line {err.lineno})") from None
    if isinstance(raw, dict) and "question" in raw and "answered" in raw:
        raw = raw.get("intent")
        if raw is None:
            raise UserError(f"{where}: the previous answer has no intent (it was not answered)")
    try:
        return Intent.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(x) for x in first["loc"]) or "intent"
        raise UserError(f"{where}: {loc}: {first['msg']}") from None


def ask(source: str | Path, question: str, context: Intent | None = None, options: AskOptions = AskOptions(),
        guard: PathGuard | None = None, engine: EngineName | None = None) -> Answer:
    """Answer ``question`` over ``source`` (a workspace file or folder, or a reconciliation output folder);
    ``engine`` overrides a workspace's engine (a reconciliation output has none: refused)."""
    source = Path(source)
    if guard is not None:
        guard.check(source / SUMMARY_FILE if source.is_dir() else source, str(source), "this source")
    if is_reconciliation_output(source):
        if engine is not None:
            raise UserError(f"--engine: {source} is a reconciliation output, whose questions read its "
                            f"{SUMMARY_FILE}, not records; --engine applies to a workspace")
        return _ask_reconciliation(source, question, context, options.provider)
    ow = open_workspace(source, guard=guard, engine=engine)
    try:
        return answer_question(ow, workspace_vocabulary(ow), question, context, options)
    finally:
        ow.close()


def answer_question(ow: OpenWorkspace, vocab: Vocabulary, question: str, context: Intent | None = None,
                    options: AskOptions = AskOptions()) -> Answer:
    """Answer ``question`` over an opened workspace (`ask` opens it; a caller asking many questions of one
    workspace opens it once)."""
    parser = QuestionParser(vocab)
    if context is not None:
        try:
            check_intent(context, vocab)
        except IntentError as err:
            raise UserError(f"context: {err}") from None
    parsed = parser.parse(question, context)
    by_model = False
    if not isinstance(parsed, Parsed):
        mapped = None if parsed.final else _mapped_by_model(options.provider, question, vocab, parsed.reason)
        if mapped is None:
            return refusal(question, parsed.reason, tuple(parser.suggestions(question)))
        parsed, by_model = mapped, True
    answer = answer_intent(ow, vocab, question, parsed.intent, parsed.assumptions, options.timeout_seconds)
    if not answer.answered:
        return answer.model_copy(update={"suggestions": tuple(parser.suggestions(question))})
    if by_model:
        answer = answer.model_copy(update={"interpreted_by": "model"})
    return _rephrased(options.provider, answer)


def _mapped_by_model(provider: ChatProvider | None, question: str, vocab: Vocabulary, reason: str) -> Parsed | None:
    """The language model's intent for a question the parser refused, or None."""
    if provider is None or len(question) > MAX_QUESTION or not question.strip():
        return None
    intent, _ = map_question(provider, question, vocab)
    if intent is None:
        return None
    return Parsed(intent, (f"the parser could not read the question ({reason}); the language model "
                           f"{provider.model!r} chose this interpretation: check it",))


def _rephrased(provider: ChatProvider | None, answer: Answer) -> Answer:
    """The answer with its text reworded by the model when every number stays a computed one."""
    if provider is None:
        return answer
    values = answer.text[len(answer.interpretation) + 2:] if answer.interpretation else None
    result = faithful_rephrase(provider, Paragraph.of("the answer", answer.text, required=values))
    if result.by_model:
        return answer.model_copy(update={"text": result.text, "text_by": "model"})
    return answer.model_copy(update={"assumptions": answer.assumptions + (f"{result.rejected}; the template's "
                                                                           "text is shown",)})


def _ask_reconciliation(folder: Path, question: str, context: Intent | None, provider: ChatProvider | None) -> Answer:
    try:
        summary = ReconciliationSummary.model_validate_json((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValidationError) as err:
        problem = err.errors()[0]["msg"] if isinstance(err, ValidationError) else str(err)
        raise UserError(f"{folder / SUMMARY_FILE}: not a reconciliation summary ({problem})") from None
    parser = ReconParser(recon_vocabulary(summary))
    parsed = parser.parse(question, context)
    if not isinstance(parsed, Parsed):
        return refusal(question, parsed.reason, tuple(parser.suggestions(question)))
    return _rephrased(provider, answer_reconciliation(summary, question, parsed.intent, parsed.assumptions))
