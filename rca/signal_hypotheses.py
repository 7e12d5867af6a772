"""Reasoning about signal patterns: hypotheses from a library, scored against the evidence, ranked.

The library (``rca/signal_hypotheses.yaml``, or a workspace's own file with the same keys) lists causes
with the traces they leave: error codes, endpoints, webhook versions, statuses, words, and the migration
stage where they concentrate. Each pattern's evidence — its fingerprint, its template, its stage
association and the timing of its first signal per merchant (`rca.signal_stages`) — multiplies each
hypothesis' prior odds by likelihood ratios (naive Bayes, the evidence combination of Good 1950,
*Probability and the Weighing of Evidence*); "unknown" competes with prior weight ``unknown_prior`` and
no evidence, so a pattern no entry explains keeps most of its mass on "unknown". The confidence of a
hypothesis is its posterior share among the library and "unknown".

Engineers' feedback moves a hypothesis' prior: with ``a`` approvals and ``r`` rejections of the actions
proposed for it, the prior is multiplied by the posterior mean of a Beta(1, 1) approval rate over ½,
2(a + 1)/(a + r + 2) — a hypothesis whose proposals keep being rejected needs more evidence to lead.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatch
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from data.errors import UserError

LIBRARY = Path(__file__).with_name("signal_hypotheses.yaml")
UNKNOWN = "unknown"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weights(_Strict):
    code: float = Field(6.0, gt=0)
    code_mismatch: float = Field(0.5, gt=0)
    endpoint: float = Field(3.0, gt=0)
    version: float = Field(4.0, gt=0)
    status: float = Field(1.5, gt=0)
    keyword: float = Field(4.0, gt=0)
    stage_match: float = Field(10.0, gt=0)
    stage_other: float = Field(0.3, gt=0)
    stage_none: float = Field(0.1, gt=0)
    timing: float = Field(2.0, gt=0)
    type_mismatch: float = Field(0.02, gt=0)


class SignalHypothesis(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    description: str = Field(min_length=1)
    signal_types: tuple[Literal["ticket", "api_error", "webhook_failure"], ...] = Field(min_length=1)
    codes: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    statuses: tuple[int, ...] = ()
    keywords: tuple[str, ...] = ()
    stage: Literal["in_progress", "post_recent", "post"]
    severity: Literal["low", "medium", "high", "critical"] = "medium"
    prior: float = Field(1.0, gt=0)
    actions: tuple[str, ...] = Field(min_length=1)


class HypothesisLibrary(_Strict):
    weights: Weights = Weights()
    unknown_prior: float = Field(1.0, gt=0)
    hypotheses: tuple[SignalHypothesis, ...] = Field(min_length=1)


class Evidence(_Strict):
    """One piece of evidence: what was seen and the likelihood ratio it carries for the hypothesis."""

    name: str
    detail: str
    likelihood_ratio: float


class Feedback(_Strict):
    """Engineers' decisions on the actions proposed for a hypothesis, and the prior factor they give."""

    approved: int = 0
    rejected: int = 0

    @property
    def factor(self) -> float:
        return 2.0 * (self.approved + 1) / (self.approved + self.rejected + 2)


class HypothesisScore(_Strict):
    id: str
    description: str
    confidence: float = Field(description="posterior probability among the library and 'unknown'")
    prior: float
    feedback_approved: int = 0
    feedback_rejected: int = 0
    feedback_factor: float = Field(1.0, description="prior multiplier from approvals and rejections")
    severity: str = "medium"
    evidence: tuple[Evidence, ...] = ()


class PatternEvidence(_Strict):
    """What the reasoning sees of a pattern."""

    signal_type: str
    fields: dict[str, str]
    template: str
    stage_q: dict[str, float] = Field(description="q-value of the association per stage comparison")
    after_start_share: float | None = None
    migration_data: bool = True


def load_library(path: Path | None = None) -> HypothesisLibrary:
    """The library at ``path`` (default: the built-in one), validated; errors name the file and field."""
    path = Path(path) if path else LIBRARY
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise UserError(f"{path}: not readable YAML ({err.__class__.__name__})") from None
    try:
        library = HypothesisLibrary.model_validate(raw if raw is not None else {})
    except ValidationError as err:
        first = err.errors()[0]
        raise UserError(f"{path}: field '{'.'.join(map(str, first['loc']))}': {first['msg']}") from None
    ids = [h.id for h in library.hypotheses]
    dupes = sorted({i for i in ids if ids.count(i) > 1} | ({UNKNOWN} & set(ids)))
    if dupes:
        raise UserError(f"{path}: hypothesis id '{dupes[0]}' is repeated or reserved")
    return library


def _matches(value: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch(value.lower(), p.lower()) for p in patterns)


def _evidence(h: SignalHypothesis, e: PatternEvidence, w: Weights) -> list[Evidence]:
    out: list[Evidence] = []
    if e.signal_type not in h.signal_types:
        out.append(Evidence(name="signal_type", detail=f"{e.signal_type} is not a signal this cause produces",
                            likelihood_ratio=w.type_mismatch))
    code = e.fields.get("code") or e.fields.get("reason")
    if code and h.codes:
        hit = _matches(code, h.codes)
        out.append(Evidence(name="code", detail=f"{code} {'matches' if hit else 'does not match'} {', '.join(h.codes)}",
                            likelihood_ratio=w.code if hit else w.code_mismatch))
    where = e.fields.get("endpoint") or e.fields.get("topic")
    if where and h.endpoints and _matches(where, h.endpoints):
        out.append(Evidence(name="endpoint", detail=f"{where} matches {', '.join(h.endpoints)}",
                            likelihood_ratio=w.endpoint))
    version = e.fields.get("api_version")
    if version and h.versions and _matches(version, h.versions):
        out.append(Evidence(name="version", detail=f"API version {version} matches {', '.join(h.versions)}",
                            likelihood_ratio=w.version))
    status = e.fields.get("status")
    if status and h.statuses and status.isdigit() and int(status) in h.statuses:
        out.append(Evidence(name="status", detail=f"HTTP {status}", likelihood_ratio=w.status))
    text = e.template.lower()
    found = [k for k in h.keywords if k.lower() in text][:2]
    if found:
        out.append(Evidence(name="keywords", detail=f"template mentions {', '.join(found)}",
                            likelihood_ratio=w.keyword ** len(found)))
    if e.migration_data:
        significant = {stage: q for stage, q in e.stage_q.items() if q <= 0.05}
        expected = {"post": ("post", "post_recent"), "post_recent": ("post_recent",),
                    "in_progress": ("in_progress",)}[h.stage]
        hit = [s for s in expected if s in significant]
        if hit:
            out.append(Evidence(name="stage", detail=f"concentrated in merchants at stage {hit[0]} "
                                f"(q = {significant[hit[0]]:.2g})", likelihood_ratio=w.stage_match))
        elif significant:
            other = min(significant, key=significant.get)
            out.append(Evidence(name="stage", detail=f"concentrated at stage {other}, not {h.stage}",
                                likelihood_ratio=w.stage_other))
        else:
            out.append(Evidence(name="stage", detail="no association with any migration stage",
                                likelihood_ratio=w.stage_none))
        if e.after_start_share is not None and e.after_start_share >= 0.8:
            out.append(Evidence(name="timing", detail=f"{e.after_start_share:.0%} of its migrated merchants showed "
                                "it only after their migration began", likelihood_ratio=w.timing))
    return out


def rank_hypotheses(evidence: PatternEvidence, library: HypothesisLibrary,
                    feedback: Mapping[str, Feedback] | None = None) -> tuple[HypothesisScore, ...]:
    """Every hypothesis and "unknown", by posterior confidence, best first."""
    feedback = feedback or {}
    rows = []
    for h in library.hypotheses:
        fb = feedback.get(h.id, Feedback())
        items = _evidence(h, evidence, library.weights)
        weight = h.prior * fb.factor
        for item in items:
            weight *= item.likelihood_ratio
        rows.append((weight, h, fb, items))
    total = sum(r[0] for r in rows) + library.unknown_prior
    scores = [HypothesisScore(id=h.id, description=h.description, confidence=weight / total, prior=h.prior,
                              feedback_approved=fb.approved, feedback_rejected=fb.rejected,
                              feedback_factor=fb.factor, severity=h.severity, evidence=tuple(items))
              for weight, h, fb, items in rows]
    scores.append(HypothesisScore(id=UNKNOWN, description="No cause of the library fits the evidence.",
                                  confidence=library.unknown_prior / total, prior=library.unknown_prior))
    return tuple(sorted(scores, key=lambda s: -s.confidence))
