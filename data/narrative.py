"""The narrative paragraphs of the reports as typed values, and the one check of a rewording's numbers.

Every report (the incident report and its PM summary, the reconciliation report, the signal report) and
every `cxw ask` answer writes its sentences from deterministic templates filled with computed values. A
sentence a reader may get reworded is built as a `Paragraph`: its label in the report, the template's
text and the numbers that text shows (the computed values as displayed). A renderer hands each paragraph
to a `Narrator` and writes what it returns: `TEMPLATES` (the default) returns the template's text and adds
nothing, so a report rendered without a language model is exactly the templates' output; the optional
model (`backend.llm.ModelNarrator`) returns its rewording only when `rewording_problem` finds none.

The check follows the record-generation precision of data-to-text generation (Wiseman, Shieber and Rush,
"Challenges in Data-to-Document Generation", EMNLP 2017): every number of the rewording must be a number
of the template as displayed — the same value once thousands separators, signs and exponents are read
(``1,234`` is ``1234``, ``+1.7`` is ``1.7``, ``4.80`` is ``4.8``), at the template's rounding (``4.9`` and ``5``
are not ``4.8``), and a number written with a unit (``%``; ``pp``, ``pts``, ``points``) must carry that unit in
the template too (``4.8%`` may not become ``4.8 pp``). Its recall: the rewording must keep every required
number (by default every number of the template).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple, Protocol

NUMBER = re.compile(r"(?<![\w.])[-+−]?\d[\d,]*(?:\.\d+)?(?:[eE][-+−]?\d+)?"
                    r"(?:\s?(?P<unit>%|percentage points?\b|percent\b|points?\b|pts\b|pp\b))?")
UNITS = {"%": "%", "percent": "%", "percentage point": "points", "percentage points": "points", "point": "points",
         "points": "points", "pts": "points", "pp": "points"}


class Number(NamedTuple):
    """A number as a text shows it: its absolute value, its unit class ("%", "points" or "") and its text."""

    value: float
    unit: str
    shown: str


def numbers_of(text: str) -> tuple[Number, ...]:
    """Every number written in ``text`` (thousands separators, signs and exponents read; ``%``, ``pp``, ``pts``
    and ``points`` kept as the number's unit)."""
    out = []
    for m in NUMBER.finditer(text):
        unit = m.group("unit")
        digits = m.group(0)[: m.start("unit") - m.start()] if unit else m.group(0)
        value = abs(float(digits.strip().replace(",", "").replace("−", "-")))
        out.append(Number(value, UNITS[unit.lower()] if unit else "", digits.strip()))
    return tuple(out)


@dataclass(frozen=True)
class Paragraph:
    """One narrative paragraph of a report: its label (what it is, in the report's words), the template's
    text, the numbers that text shows and those a rewording must keep (their values)."""

    label: str
    text: str
    numbers: tuple[Number, ...]
    required: frozenset[float]

    @classmethod
    def of(cls, label: str, text: str, required: str | None = None) -> "Paragraph":
        """The paragraph of ``text``; a rewording must keep the numbers of ``required`` (a part of the text;
        default: the whole text, so every number)."""
        numbers = numbers_of(text)
        keep = numbers if required is None else numbers_of(required)
        return cls(label, text, numbers, frozenset(n.value for n in keep))


def rewording_problem(candidate: str, paragraph: Paragraph) -> str | None:
    """Why ``candidate`` may not replace ``paragraph``'s text (None: every number in it is one of the
    template's numbers, with the same unit when it names one, and it keeps every required number)."""
    shown = {(n.value, n.unit) for n in paragraph.numbers}
    values = {n.value for n in paragraph.numbers}
    found = numbers_of(candidate)
    invented = [n.shown + (n.unit if n.unit == "%" else f" {n.unit}" if n.unit else "") for n in found
                if n.value not in values or (n.unit and (n.value, n.unit) not in shown)]
    if invented:
        return f"numbers that were not computed ({', '.join(invented[:3])})"
    dropped = paragraph.required - {n.value for n in found}
    if dropped:
        lost = list(dict.fromkeys(n.shown for n in paragraph.numbers if n.value in dropped))
        return f"computed numbers left out ({', '.join(lost[:3])})"
    return None


class Narrator(Protocol):
    """What a renderer hands its paragraphs to: the text to write for each, and after the report a short
    provenance line (None: nothing to say)."""

    def __call__(self, paragraph: Paragraph) -> str: ...

    def provenance(self) -> str | None: ...


class Templates:
    """The default narrator: every paragraph is the template's text, and the report says nothing more."""

    def __call__(self, paragraph: Paragraph) -> str:
        return paragraph.text

    def provenance(self) -> str | None:
        return None


TEMPLATES = Templates()


def with_provenance(lines: list[str], narrate: Narrator) -> str:
    """A report's lines (a title, a blank line, the rest) as text, with ``narrate``'s provenance line
    under the title when it has one (the templates have none: their report is unchanged)."""
    provenance = narrate.provenance()
    if provenance:
        lines = [*lines[:2], provenance, "", *lines[2:]]
    return "\n".join(lines)

__all__ = ["NUMBER", "TEMPLATES", "Narrator", "Number", "Paragraph", "Templates", "numbers_of", "rewording_problem",
           "with_provenance"]
