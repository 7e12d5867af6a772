"""Questions about a reconciliation output ("how many transactions are missing after the migration and what
is their amount?") → an `Intent` whose measure is a reconciliation finding. The same rules as
`metrics.questions.parser`: keywords pick the finding, column names are matched against the compared
columns, and every word must be understood or the question is refused."""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from metrics.questions.intent import Intent, Measure, Ranking, ReconFinding
from metrics.questions.parser import FILLER, RECORD_NOUNS, Parsed, Refusal, _similar_word, _State, normalize
from metrics.questions.vocabulary import ReconVocabulary

FINDINGS: tuple[tuple[str, ReconFinding], ...] = (
    (r"\b(?:duplicate|duplicated|repeated) (?:keys?|accounts?|records?|rows?)\b|\bduplicates\b", "duplicate_keys"),
    (r"\b(?:customers?|clients?) (?:are |were )?(?:impacted|affected|hit)\b|\b(?:impacted|affected) (?:customers?|clients?)\b",
     "impacted_customers"),
    (r"\b(?:missing|lost|dropped|not migrated|absent)\b", "lost"),
    (r"\b(?:unexpected|extra|only in the migrated(?: system| side)?|appeared)\b", "unexpected"),
    (r"\b(?:identical|unchanged)\b", "identical"),
    (r"\b(?:matched|made it|in both)\b", "matched"),
    (r"\b(?:patterns?|error types?|kinds of errors?)\b", "patterns"),
    (r"\b(?:differ|different|differences|mismatch|mismatches|mismatched|changed|wrong)\b", "with_differences"),
    (r"\b(?:in|of|on) (?:the )?legacy\b|\blegacy (?:rows|records|side)\b", "legacy_rows"),
    (r"\b(?:in|of|on) (?:the )?migrated\b|\bmigrated (?:rows|records|side)\b", "migrated_rows"),
)
RECON_WORDS = set("""
after before migration migrated legacy system systems side new old source target accounts account how what
amount amounts their its sum value worth total money balance much cost which most affects affected systematic
isolated were are is did have has there after the reconciliation run records one values field fields
""".split())


class ReconParser:
    """Parse questions about one reconciliation output."""

    def __init__(self, vocab: ReconVocabulary):
        self.vocab = vocab
        self.columns = {c: [w for w in re.split(r"[^a-z0-9]+", c.lower()) if w] for c in vocab.compared_columns}
        self.known = FILLER | RECORD_NOUNS | RECON_WORDS | {"not", "customers", "customer", "clients", "keys", "key"}

    def _column(self, st: _State) -> str | None:
        """The compared column the question names: its words (plural too), or one word one edit away."""
        for column, words in sorted(self.columns.items(), key=lambda kv: -len(kv[1])):
            for form in (" ".join(words), "".join(words)):
                m = re.search(rf"\b{re.escape(form)}(?:s|es)?\b", st.text)
                if m:
                    st.take(m.span())
                    return column
                if len(form) < 4:
                    continue
                for w, a, b in st.words():
                    if len(w) >= 4 and (_similar_word(form, w) or _similar_word(form + "s", w)):
                        st.take((a, b))
                        return column
        return None

    def parse(self, question: str, context: Intent | None = None) -> Parsed | Refusal:
        text = normalize(question)
        if not re.search(r"[a-z]", text):
            return Refusal("there is no question to read")
        st = _State(text)
        assumptions: list[str] = []
        amount = bool(re.search(r"\b(?:amount|amounts|how much|worth|value|money|sum)\b", text))
        classification = None
        m = re.search(r"\b(systematic|isolated)\b", st.text)
        if m:
            classification = m.group(1)
            st.take(m.span())
        column = self._column(st)
        finding: ReconFinding | None = None
        for pattern, name in FINDINGS:
            m = re.search(pattern, st.text)
            if m:
                finding = name
                st.take(m.span())
                break
        ranking = None
        m = re.search(r"\b(?:the )?(?:most|largest|biggest|top)(?: (\d+))?\b", st.text)
        if m:
            ranking = Ranking(by="value", descending=True, top=int(m.group(1)) if m.group(1) else 1)
            st.take(m.span())
        if finding is None and classification is not None:
            finding = "patterns"
        if finding == "with_differences" and column is not None:
            finding = "column_differences"
        if finding is None:
            if context is not None and context.measure.kind == "reconciliation" and (amount or column):
                finding = context.measure.finding
                assumptions.append("a follow-up: the finding is kept from the previous question")
            else:
                return Refusal("the question names no finding of the reconciliation (missing, unexpected, "
                               "differing records, impacted customers, duplicates, patterns)")
        if column is not None and finding not in ("column_differences", "patterns"):
            if finding in ("lost", "unexpected") and column in (self.vocab.amount_column,):
                amount = True
            else:
                return Refusal(f"a column ({column}) only goes with differing values or patterns")
        left = [w for w, _, _ in st.words() if w not in self.known]
        if left:
            return Refusal(f"I did not understand {', '.join(repr(w) for w in left[:3])}")
        if amount and finding not in ("lost", "unexpected", "patterns", "column_differences"):
            return Refusal("an amount goes with missing or unexpected records, or with patterns")
        measure = Measure(kind="reconciliation", finding=finding, column=column, amount=amount,
                          classification=classification)  # type: ignore[arg-type]
        return Parsed(Intent(measure=measure, ranking=ranking if finding == "patterns" else None),
                      tuple(assumptions))

    def suggestions(self, question: str, k: int = 3) -> list[str]:
        options = ["How many records are missing after the migration and what is their amount?",
                   "How many records are unexpected in the migrated system?",
                   "How many records differ?", "How many customers are impacted?",
                   "Which systematic patterns are there?", "Which pattern affects the most records?",
                   "How many duplicate keys are there?"]
        options += [f"How many {c} values differ?" for c in self.vocab.compared_columns[:5]]
        text = normalize(question)
        return sorted(options, key=lambda q: -fuzz.token_set_ratio(text, q.lower()))[:k]
