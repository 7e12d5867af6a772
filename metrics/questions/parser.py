"""The deterministic question parser: plain language → `Intent`, or a refusal with the closest supported
questions.

It is a semantic layer, not text-to-SQL (the approach of MetricFlow and Cube): the question may only pick
among the workspace's metrics, declared dimensions and their real values, a time range, a comparison and a
ranking. Reading is by rules over the lower-cased words: time phrases first (`metrics.questions.timeparse`),
then the comparison after "vs"/"compared to", ranking words, dimension names and values (exact, a number
after a dimension name — "store 12" — or a typo within one edit, Damerau's optimal string alignment via
rapidfuzz, with the first letter kept), then the measure (metric names' words, English inflections and a
few antonyms such as "late" = not on time). Every word must be understood: a word left over refuses the
question rather than answering a different one. A follow-up ("and the week before?", "only for store 12")
starts from the previous answer's intent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from data.workspace import MetricSpec
from metrics.questions.intent import Filter, Intent, Measure, Ranking, TimeRange
from metrics.questions.timeparse import TimeError, find_time, shifted
from metrics.questions.vocabulary import Vocabulary

MAX_QUESTION = 500
RANK_MIN_RECORDS = 30
RECORD_NOUNS = {"orders", "order", "records", "record", "rows", "row", "transactions", "transaction", "deliveries",
                "entries", "events", "accounts", "items", "cases", "tickets", "requests"}
FILLER = set("""
a about all an and any are as at be been by data did do does during for from get give had has have how i in is it
its many me much my of on or our overall over please show so tell that the their there these this those to total
us value was we were what whats with which who number count share percentage percent proportion fraction rate
ratio average avg mean level s my only just same now also then each every per across get got see happened
in total of them they be figure figures metric metrics numbers
""".split())
WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                "ten": 10}
GENERIC_METRIC_WORDS = {"rate", "avg", "average", "mean", "per", "of", "order", "orders", "record", "records",
                        "total", "count", "number", "score", "pct", "share"}
SYNONYMS = {"minutes": {"time", "duration", "mins", "minute", "long"}, "avg": {"average", "mean"},
            "accuracy": {"accurate", "correct"}, "refund": {"refunds", "refunded"},
            "support": {"contact", "contacts", "contacted"}}
ANTONYMS = {"late": ("on", "time"), "delayed": ("on", "time"), "tardy": ("on", "time"),
            "inaccurate": ("accurate",), "incorrect": ("accurate",), "wrong": ("accurate",)}
INCREASE = r"(?:rose|risen|increased|grew|grown|went up|gone up|jumped|climbed|rise|increase|growth|jump)"
DECREASE = r"(?:dropped|fell|fallen|decreased|declined|went down|gone down|drop|fall|decrease|decline)"
WORSE = r"(?:worsened|deteriorated|got worse|degraded|regressed)"
BETTER = r"(?:improved|got better|improvement)"
UP_WORDS = r"(?:highest|most|largest|biggest|greatest|maximum|max|top|higher)"
DOWN_WORDS = r"(?:lowest|least|fewest|smallest|minimum|min|bottom|lower)"
FUTURE = re.compile(r"\b(?:will|tomorrow|forecast|predict|prediction|next (?:day|week|month|year)|going to)\b")
WHY = re.compile(r"^\s*(?:why|what caused|what is causing|whats causing)\b")
FOLLOW_UP = re.compile(r"^\s*(?:and|what about|how about|only|same|now|but)\b")
COMPARE_SPLIT = re.compile(r"\b(?:vs|versus|compared (?:to|with)|against|relative to|as against)\b")


@dataclass(frozen=True)
class Refusal:
    """Why a question is not answered; no number goes with it. ``final``: no interpretation could answer it
    (a forecast, a 'why'), so it is not handed to a language model either."""

    reason: str
    final: bool = False


@dataclass(frozen=True)
class _Rank:
    """A ranking before the measure is known: ``direction`` up/down, or worse/better (which way depends on
    the metric's ``good``)."""

    by: str
    direction: str
    top: int


@dataclass(frozen=True)
class Parsed:
    intent: Intent
    assumptions: tuple[str, ...]


@dataclass
class _State:
    """The question's text with the words read so far blanked out, and what they said."""

    text: str
    assumptions: list[str] = field(default_factory=list)

    def take(self, span: tuple[int, int]) -> None:
        a, b = span
        self.text = self.text[:a] + " " * (b - a) + self.text[b:]

    def words(self) -> list[tuple[str, int, int]]:
        return [(m.group(0), m.start(), m.end()) for m in re.finditer(r"[a-z0-9][a-z0-9_.\-+']*", self.text)]


def normalize(question: str) -> str:
    """Lower case, typographic quotes and symbols spelled out, punctuation dropped, single spaces."""
    t = question.lower().replace("’", "'").replace("%", " percent ").replace("&", " and ")
    t = re.sub(r"\bwhat's\b", "what is", t)
    t = re.sub(r"\b(\w+)n't\b", r"\1 not", t)
    t = re.sub(r"'s\b", "", t)
    t = re.sub(r"[^a-z0-9_\-+ .']", " ", t)
    t = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", t)  # on-time, e-mail
    t = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", t)  # full stops, not decimal points
    t = t.replace("'", " ")
    return re.sub(r"\s+", " ", t).strip()


def dimension_word(dim: str) -> str:
    """The dimension as a noun: ``store_id`` → store, ``basket_bucket`` → basket bucket."""
    words = dim.lower().replace("-", "_").split("_")
    if len(words) > 1 and words[-1] in ("id", "code", "name", "key"):
        words = words[:-1]
    return " ".join(words)


def dimension_aliases(dim: str) -> list[str]:
    """Words that name a dimension: ``store_id`` → store id, store, stores; longest first."""
    base = dimension_word(dim)
    words = base.split()
    plural = base[:-1] + "ies" if base.endswith("y") and not base.endswith(("ay", "ey", "oy")) else base + "s"
    names = {dim.lower().replace("_", " "), dim.lower(), base, plural}
    if len(words) > 1:
        names |= {words[0], words[0] + "s"}
    return sorted(names, key=len, reverse=True)


def _similar_word(a: str, b: str) -> bool:
    """Two words are the same for matching: equal, an inflection (a common stem of 5+ letters), or one edit
    apart (two for long words, a swap of neighbours counting as one) with the same first letter."""
    if a == b:
        return True
    if len(a) >= 5 and len(b) >= 5 and _common_prefix(a, b) >= max(5, min(len(a), len(b)) - 3):
        return True
    if a[0] != b[0] or min(len(a), len(b)) < 4:
        return False
    return OSA.distance(a, b) <= (2 if min(len(a), len(b)) >= 8 else 1)


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _metric_words(m: MetricSpec) -> list[str]:
    words = [w for w in m.name.lower().split("_") if w]
    content = [w for w in words if w not in GENERIC_METRIC_WORDS]
    return content or words


def _expression_words(m: MetricSpec) -> set[str]:
    names = re.findall(r'"([^"]+)"|\b([a-z_][a-z0-9_]*)\b', " ".join(x for x in (m.expr, m.numerator) if x).lower())
    return {w for pair in names for name in pair if name for w in name.split("_") if len(w) >= 4}


def _word_matches(target: str, word: str) -> bool:
    return _similar_word(target, word) or word in SYNONYMS.get(target, ())


class QuestionParser:
    """Parse questions about one workspace (`parse`); `suggestions` lists supported questions near one."""

    def __init__(self, vocab: Vocabulary):
        self.vocab = vocab
        self.aliases = {dim: dimension_aliases(dim) for dim in vocab.dimensions}
        self.lower_values = {dim: {v.lower(): v for v in values} for dim, values in vocab.dimensions.items()}
        self.known = set(FILLER) | RECORD_NOUNS | set(ANTONYMS) | {"not", "no", "never"}
        for m in vocab.metrics:
            self.known |= set(m.name.lower().split("_"))
        for names in self.aliases.values():
            for name in names:
                self.known |= set(name.split())

    # -- entry point -----------------------------------------------------------------------------------
    def parse(self, question: str, context: Intent | None = None) -> Parsed | Refusal:
        if len(question) > MAX_QUESTION:
            return Refusal(f"the question is longer than {MAX_QUESTION} characters")
        text = normalize(question)
        if not re.search(r"[a-z]", text):
            return Refusal("there is no question to read")
        if FUTURE.search(text):
            return Refusal("I can only count what is in the records, not forecast what will happen", final=True)
        if WHY.search(text):
            return Refusal("a 'why' question needs root-cause analysis (`cxw analyze`, the incident pages), "
                           "not a number", final=True)
        try:
            return self._parse(text, context)
        except TimeError as err:
            return Refusal(str(err))
        except OverflowError:
            return Refusal("the time range would run outside the calendar")

    def _parse(self, text: str, context: Intent | None) -> Parsed | Refusal:
        follow_up = context is not None and bool(FOLLOW_UP.match(text))
        left, right = text, None
        split = COMPARE_SPLIT.search(text)
        if split:
            left, right = text[:split.start()], text[split.end():]
        st = _State(left)
        if follow_up:
            st.take(FOLLOW_UP.match(st.text).span())  # type: ignore[union-attr]
        time, shift = self._time(st, context)
        if isinstance(time, Refusal):
            return time
        compare: TimeRange | None = None
        if right is not None:
            found = self._comparison(right, time, context)
            if isinstance(found, Refusal):
                return found
            time, compare = found
        change = self._change_ranking(st)
        pending = self._value_ranking(st) if change is None else change
        group = self._grouping(st)
        if isinstance(group, Refusal):
            return group
        filters = self._filters(st)
        if isinstance(filters, Refusal):
            return filters
        overall = bool(re.search(r"\b(?:overall|in total|all together|altogether)\b", text))
        noun = "|".join(sorted(RECORD_NOUNS))
        counting = re.search(rf"\b(?:most|fewest|least|more|fewer)\b(?: \w+)? (?:{noun})\b", text) is not None
        measure = self._measure(st, counting)
        if isinstance(measure, Refusal):
            return measure
        left_over = [w for w, _, _ in st.words() if w not in self.known
                     and not (len(w) >= 5 and any(_similar_word(k, w) for k in self.known if len(k) >= 5))]
        if left_over:
            return Refusal(f"I did not understand {', '.join(repr(w) for w in left_over[:3])}")
        if measure is None:
            if context is None:
                return Refusal("the question names no metric and no count of records")
            follow_up = True
            measure = context.measure
        kept: Ranking | None = None
        if follow_up and context is not None:
            merged = {f.dimension: f for f in context.filters}
            merged.update({f.dimension: f for f in filters})
            filters = list(merged.values())
            if time is None and shift is None:
                time = context.time
                if compare is None:
                    compare = context.compare
            if group is None and not overall:
                group = context.group_by
                if pending is None:
                    kept = context.ranking
            st.assumptions.append("a follow-up: what the question does not say is kept from the previous one")
        if shift is not None:
            time = shift
        ranking: Ranking | None = kept
        if pending is not None:
            resolved = self._resolve(pending, measure)
            if isinstance(resolved, Refusal):
                return resolved
            ranking = resolved
        if ranking is not None and group is None:
            return Refusal("a ranking needs something to rank: say which dimension (e.g. 'which "
                           f"{next(iter(self.vocab.dimensions), 'region')}')")
        if ranking is not None and ranking.by == "change" and compare is None:
            if time is None:
                return Refusal("a change needs a time range to compare (e.g. 'last week')")
            compare = shifted(time, "period")
            st.assumptions.append(f"the change is against {compare.label}, the period of the same length before")
        if compare is not None and time is None:
            return Refusal("a comparison needs a time range for the question itself (e.g. 'last week vs the week before')")
        if time is None:
            st.assumptions.append(f"no time range given: every record ({self.vocab.first:%Y-%m-%d} to "
                                  f"{self.vocab.last:%Y-%m-%d})")
        min_records = 1 if measure.kind == "count" else RANK_MIN_RECORDS
        if group is not None and ranking is not None and min_records > 1:
            st.assumptions.append(f"only groups with at least {min_records} records (in each compared period) are "
                                  "ranked: a rate over a handful of records says little")
        intent = Intent(measure=measure, filters=tuple(filters), time=time, compare=compare, group_by=group,
                        ranking=ranking, min_records=min_records)
        return Parsed(intent, tuple(dict.fromkeys(st.assumptions)))

    def _resolve(self, rank: _Rank, measure: Measure) -> Ranking | Refusal:
        """Turn worse/better into a direction with the metric's ``good`` (flipped for a negated rate)."""
        if rank.direction in ("up", "down"):
            return Ranking(by=rank.by, descending=rank.direction == "up", top=rank.top)  # type: ignore[arg-type]
        spec = self.vocab.metric(measure.metric) if measure.metric else None
        if spec is None or measure.kind == "count":
            return Refusal("'best' or 'worst' needs a metric with a good direction; say highest or lowest")
        higher_is_better = (spec.good == "up") != measure.negated
        descending = (rank.direction == "better") == higher_is_better
        return Ranking(by=rank.by, descending=descending, top=rank.top)  # type: ignore[arg-type]

    # -- time ------------------------------------------------------------------------------------------
    def _time(self, st: _State, context: Intent | None) -> tuple[TimeRange | None | Refusal, TimeRange | None]:
        """The question's time range, and a shift of the previous question's ("the week before")."""
        m = re.search(r"\b(?:for |in |during )?(?:the )?(day|week|month|period) before\b(?! yesterday)", st.text)
        if m:
            if context is None or context.time is None:
                return Refusal(f"'{m.group(0).strip()}': before what? Ask with a time range first"), None
            st.take(m.span())
            return None, shifted(context.time, m.group(1))
        found = find_time(st.text, self.vocab.last)
        if found is None:
            return None, None
        st.take(found.span)
        if found.assumption:
            st.assumptions.append(found.assumption)
        return found.range, None

    def _comparison(self, right: str, time: TimeRange | None | Refusal, context: Intent | None
                    ) -> tuple[TimeRange, TimeRange] | Refusal:
        current = time if isinstance(time, TimeRange) else (context.time if context is not None else None)
        right = right.strip()
        m = re.fullmatch(r"(?:the |a )?(?:(?:previous|prior|preceding|last) (day|week|month|period)|"
                         r"(day|week|month|period) before)", right)
        if m:
            if current is None:
                return Refusal("a comparison needs a time range for the question itself "
                               "(e.g. 'last week vs the week before')")
            return current, shifted(current, m.group(1) or m.group(2))
        found = find_time(right, self.vocab.last)
        if found is None:
            right = "in " + right
            found = find_time(right, self.vocab.last)
        if found is None or right[:found.span[0]].strip() or right[found.span[1]:].strip() not in ("", "before"):
            return Refusal(f"I could not read the period to compare with ({right!r}); try 'vs the week before'")
        if current is None:
            return Refusal("a comparison needs a time range for the question itself (e.g. 'in March vs February')")
        return current, found.range

    # -- ranking and grouping --------------------------------------------------------------------------
    def _top(self, st: _State) -> int | None:
        m = re.search(r"\b(?:top|bottom|first|best|worst|highest|lowest|which|what) (\d+|" + "|".join(WORD_NUMBERS) + r")\b",
                      st.text) or re.search(r"\b(\d+|" + "|".join(WORD_NUMBERS) + r") (?=\w+ (?:with|by|that|whose))",
                                            st.text)
        if not m:
            return None
        k = int(m.group(1)) if m.group(1).isdigit() else WORD_NUMBERS[m.group(1)]
        st.take(m.span(1))
        return max(1, min(k, 100))

    def _change_ranking(self, st: _State) -> _Rank | None:
        for words, direction in ((INCREASE, "up"), (DECREASE, "down"), (WORSE, "worse"), (BETTER, "better")):
            m = re.search(rf"\b(?:the )?(?:most |largest |biggest |greatest )?{words}(?: the)?(?: most)?\b", st.text)
            if m and (re.search(r"\b(?:most|largest|biggest|greatest)\b", m.group(0))
                      or re.search(r"\b(?:which|what|top)\b", st.text)):
                st.take(m.span())
                return _Rank("change", direction, self._top(st) or 1)
        return None

    def _value_ranking(self, st: _State) -> _Rank | None:
        top = self._top(st)
        m = re.search(rf"\b(?:the )?({UP_WORDS}|{DOWN_WORDS}|best|worst)\b", st.text)
        if m:
            st.take(m.span())
            word = m.group(1)
            direction = ("up" if re.fullmatch(UP_WORDS, word) else "down" if re.fullmatch(DOWN_WORDS, word)
                         else "worse" if word == "worst" else "better")
            return _Rank("value", direction, top or 1)
        return _Rank("value", "up", top) if top is not None else None

    def _grouping(self, st: _State) -> str | None | Refusal:
        """The dimension to group by: named after which/what/by/per/each/across ("which store", "by region"),
        or in the plural before a verb or on its own ("top 5 stores", "regions with …") without one of its
        values after it (that is a filter: "stores 12")."""
        for dim, names in self.aliases.items():
            for name in names:
                m = re.search(rf"\b(?:(?:which|what|by|per|each|every|for each|for every|across|all|among)(?: the)? )"
                              rf"{re.escape(name)}\b", st.text)
                if m is None:
                    m = re.search(rf"(?:^|\s)(?:\d+ )?{re.escape(name)}(?= (?:has|had|have|with|whose|was|were|is|are)\b)",
                                  st.text) if name.endswith("s") else None
                if m is None and re.search(r"\b(?:top|bottom)\b|^\s*\d", st.text) is None:
                    m2 = re.search(rf"\b{re.escape(name)}\b", st.text)
                    if m2 and name.endswith("s") and name != dim.lower() and not self._value_after(st.text, m2.end(), dim):
                        m = m2
                if m:
                    st.take(m.span())
                    return dim
        m = re.search(r"\b(?:which|what|by|per|each|for each|across) (\w+)\b", st.text)
        if m and m.group(1) not in self.known:
            dims = ", ".join(self.vocab.dimensions)
            return Refusal(f"{m.group(1)!r} is not a dimension of this workspace ({dims})")
        return None

    def _value_after(self, text: str, pos: int, dim: str) -> bool:
        nxt = text[pos:].split()
        return bool(nxt) and self._match_value(dim, nxt[0]) is not None

    # -- filters ---------------------------------------------------------------------------------------
    def _match_value(self, dim: str, word: str) -> str | None:
        """The value of ``dim`` a word names after the dimension's name: exact, the same number ("12" for
        "s0012"), or one edit away."""
        values = self.lower_values[dim]
        if word in values:
            return values[word]
        if word.isdigit():
            hits = [v for low, v in values.items() if re.sub(r"\D", "", low) and int(re.sub(r"\D", "", low)) == int(word)]
            return hits[0] if len(hits) == 1 else None
        hits = [v for low, v in values.items() if len(low) >= 4 and _similar_word(low, word)]
        return hits[0] if len(hits) == 1 else None

    def _filters(self, st: _State) -> list[Filter] | Refusal:
        found: dict[str, list[str]] = {}
        # "region west", "store 12", "west region", "in the west"
        for dim, names in self.aliases.items():
            for name in names:
                for m in re.finditer(rf"\b{re.escape(name)} ([a-z0-9][a-z0-9_\-+.]*)\b", st.text):
                    value = self._match_value(dim, m.group(1))
                    if value is None:
                        if m.group(1) in self.known and not m.group(1).isdigit():
                            continue
                        sample = ", ".join(self.vocab.dimensions[dim][:8])
                        return Refusal(f"{m.group(1)!r} is not a {dim} of this workspace (e.g. {sample})")
                    if value.lower() != m.group(1):
                        st.assumptions.append(f"{m.group(1)!r} read as {dim} {value}")
                    found.setdefault(dim, []).append(value)
                    st.take(m.span())
        for word, a, b in st.words():
            if word in self.known and not any(word in vals for vals in self.lower_values.values()):
                continue
            candidates = [(dim, values[word]) for dim, values in self.lower_values.items() if word in values
                          and (not word.isdigit() and len(word) >= 2)]
            if not candidates and len(word) >= 4 and word not in self.known and not word.isdigit():
                candidates = [(dim, v) for dim, values in self.lower_values.items() for low, v in values.items()
                              if len(low) >= 4 and low.isalpha() and _similar_word(low, word)]
                for dim, v in candidates[:1]:
                    st.assumptions.append(f"{word!r} read as {dim} {v}")
            if not candidates:
                continue
            dim, value = candidates[0]
            if len({d for d, _ in candidates}) > 1:
                st.assumptions.append(f"{word!r} read as {dim} {value} (also a value of "
                                      f"{', '.join(d for d, _ in candidates[1:])})")
            found.setdefault(dim, []).append(value)
            st.take((a, b))
            for name in self.aliases[dim]:  # "west region": the dimension's name right after the value
                after = re.match(rf"\s+{re.escape(name)}\b", st.text[b:])
                if after:
                    st.take((b, b + after.end()))
                    break
        return [Filter(dimension=d, values=tuple(dict.fromkeys(vs))) for d, vs in found.items()]

    # -- measure ---------------------------------------------------------------------------------------
    def _measure(self, st: _State, counting: bool) -> Measure | None | Refusal:
        count = re.search(r"\b(?:how many|number of|count of|count)\b", st.text)
        words = [(w, a, b) for w, a, b in st.words() if w not in RECORD_NOUNS]
        negated = False
        best: list[tuple[float, int, MetricSpec, list[tuple[int, int]], bool]] = []
        for m in self.vocab.metrics:
            targets = _metric_words(m)
            used: list[tuple[int, int]] = []
            matched = 0
            strong = False  # a short word alone ("on") names no metric
            flip = False
            for target in targets:
                hit = next(((a, b) for w, a, b in words if _word_matches(target, w) and (a, b) not in used), None)
                if hit is None:
                    hit = next(((a, b) for w, a, b in words if target in ANTONYMS.get(w, ())), None)
                    if hit is not None:
                        flip = True
                if hit is not None:
                    matched += 1
                    strong = strong or len(target) >= 3 or flip
                    if hit not in used:
                        used.append(hit)
            if matched and (strong or matched == len(targets)):
                best.append((matched / len(targets), matched, m, used, flip))
        best.sort(key=lambda x: (-x[0], -x[1]))
        spec = None
        if best and best[0][0] >= 0.5:
            top = best[0]
            rivals = [b for b in best[1:] if (b[0], b[1]) == (top[0], top[1])]
            if rivals:
                names = ", ".join(b[2].name for b in [top, *rivals])
                return Refusal(f"the question could mean several metrics ({names}); name one")
            spec, negated = top[2], top[4]
            for span in top[3]:
                st.take(span)
            for word in _expression_words(spec):  # "support contact": the words of the rate's own column
                for w, a, b in st.words():
                    if _similar_word(word, w):
                        st.take((a, b))
        nots = re.search(r"\b(?:not|never)\b", st.text)
        if nots and spec is not None and spec.type == "rate":
            negated = not negated
            st.take(nots.span())
        if count or counting:
            if count:
                st.take(count.span())
            if spec is None:
                return Measure(kind="count")
            if spec.type != "rate":
                return Refusal(f"I can count records, or the records where a rate's condition holds; "
                               f"{spec.name} is a {spec.type}, so ask for its value instead")
            if negated:
                st.assumptions.append(f"counted the records where {spec.name}'s condition ({spec.expr}) is false; "
                                      "records where it is unknown (NULL) are not counted")
            return Measure(kind="count", metric=spec.name, negated=negated)
        if spec is None:
            return None
        if negated and spec.type != "rate":
            return Refusal(f"only a rate has an opposite; {spec.name} is a {spec.type}")
        if negated:
            st.assumptions.append(f"the share of records where {spec.name}'s condition ({spec.expr}) is false: "
                                  f"1 − {spec.name}")
        return Measure(kind="metric", metric=spec.name, negated=negated)

    # -- suggestions -----------------------------------------------------------------------------------
    def supported_questions(self) -> list[tuple[str, str]]:
        """Questions this workspace can answer, built from its own metrics, dimensions and values, each
        with the metric it is about."""
        dims = list(self.vocab.dimensions)
        out = [("records", "How many records were there yesterday?")]
        for m in self.vocab.metrics:
            words = m.name.replace("_", " ")
            out.append((m.name, f"What was the {words} last week?"))
            out.append((m.name, f"What was the {words} yesterday vs the day before?"))
            for d in dims[:3]:
                values = self.vocab.dimensions[d]
                if values:
                    out.append((m.name, f"What was the {words} in {dimension_word(d)} {values[0]} last week?"))
                out.append((m.name, f"Which {dimension_word(d)} had the highest {words} last week?"))
        return out

    def suggestions(self, question: str, k: int = 3) -> list[str]:
        """The ``k`` supported questions nearest to ``question`` (token-set similarity), about different metrics."""
        text = normalize(question)
        scored = sorted(self.supported_questions(), key=lambda kq: -fuzz.token_set_ratio(text, kq[1].lower()))
        picked: dict[str, str] = {}
        for key, q in scored:
            picked.setdefault(key, q)
        return list(picked.values())[:k]
