"""Likely cause of each reconciliation mismatch pattern, from what it is and where it concentrates.

A migration fails in a few recognisable ways, the failure classes of source-to-target reconciliation
testing: a mapping or transformation rule applied to a segment (systematic value changes), an extract
or load filter that drops or adds a segment (systematic lost or unexpected records), a conversion rule
on amounts (systematic numeric changes), and record-level rejects or edits (isolated patterns). The
rule table maps a pattern's kind × classification to that cause; the text is filled only with the
pattern's computed numbers and slice, so the same input always gives the same sentence.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from detection.mismatch import Pattern


class LikelyCause(BaseModel):
    """The likely cause of one pattern: a short name, the sentence that explains it, and its scope."""

    model_config = ConfigDict(frozen=True)

    pattern: str
    cause: str
    explanation: str
    scope: str  # the slice, "*" for every record it could hit, "" for isolated patterns


def _scope(p: Pattern) -> str:
    if p.classification != "systematic" or not p.slices:
        return ""
    return p.slices[0].slice


def _where(scope: str) -> str:
    return "every record it could hit" if scope == "*" else f"records with {scope.replace('&', ' and ')}"


def likely_cause(p: Pattern) -> LikelyCause:
    """The cause a pattern most likely has, by its kind and whether it is systematic."""
    scope = _scope(p)
    systematic = p.classification == "systematic"
    if p.kind == "lost":
        cause, text = (("extract or load filter", f"the migration dropped {_where(scope)}: an extract query, "
                        f"a load filter or a failed batch excluded that segment") if systematic else
                       ("record-level load rejects", "records went missing one by one, with no segment in "
                        "common: rows rejected at load (constraint or format errors) or deleted after the cut-over"))
    elif p.kind == "unexpected":
        cause, text = (("records created in the target for a segment", f"the target holds extra {_where(scope)}: "
                        f"a duplicate load, test data or a default-created record for that segment") if systematic
                       else ("stray records in the target", "extra records with no segment in common: records "
                             "created after the extract, test records or re-keyed records"))
    elif p.kind == "value":
        cause, text = (("mapping rule", f"{p.column} was translated from {p.legacy_value!r} to "
                        f"{p.migrated_value!r} for {_where(scope)}: a value-mapping or transformation rule of "
                        f"the migration applies to that segment") if systematic else
                       ("record-level edits", f"{p.column} changed from {p.legacy_value!r} to {p.migrated_value!r} "
                        f"on scattered records: manual corrections or changes made after the extract"))
    elif p.kind == "numeric":
        cause, text = (("conversion rule", f"{p.column} {p.label.split(': ', 1)[1]} for {_where(scope)}: a "
                        f"rate, rounding or currency conversion applied to that segment") if systematic else
                       ("record-level edits", f"{p.column} {p.label.split(': ', 1)[1]} on scattered records: "
                        f"activity between the extract and the load, or manual adjustments"))
    elif p.kind == "date":
        cause, text = (("date conversion rule", f"{p.column} {p.label.split(': ', 1)[1]} for {_where(scope)}: a "
                        f"time-zone, day/month order or cut-off conversion applied to that segment") if systematic else
                       ("record-level edits", f"{p.column} {p.label.split(': ', 1)[1]} on scattered records: "
                        f"activity between the extract and the load, or manual adjustments"))
    else:
        cause, text = ("record-level edits", f"{p.column} holds a different value on scattered records, each "
                       f"change rare: data cleansing, manual edits or activity after the extract")
    return LikelyCause(pattern=p.label, cause=cause, explanation=text, scope=scope)
