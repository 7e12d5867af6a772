"""The operational-signals investigation: signals → patterns → spikes → stage association → causes → actions.

`investigate_signals` is the one composition of the stages for signals; the CLI (`cxw signals analyze`),
the API (`POST /api/signals/analysis`) and the tests call it and get the same typed `SignalReport`, which
is the JSON both serve.

1. `detection.signal_patterns`: fingerprints, Drain templates, ticket topics (TF-IDF + clustering);
2. `metrics.signal_rates`: hourly signals per merchant-hour per pattern;
3. `detection.signal_spikes`: CUSUM + z-score per pattern on the window after the baseline, BH across patterns;
4. `rca.signal_stages`: association with the migration stage (Mantel–Haenszel by day, BH);
5. `rca.signal_hypotheses`: the library's causes ranked with a posterior confidence, "unknown" included;
6. `recommendations.signal_actions`: the leading cause's actions with risk and the guardrails' verdict.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from data.errors import UserError
from data.signals import SignalTable
from detection.signal_patterns import PatternConfig, group_patterns
from detection.signal_spikes import SpikeConfig, pattern_rate_panel, spike_tests
from metrics.signal_rates import bucket_of, hour_axis, pattern_counts
from rca.signal_hypotheses import Feedback, HypothesisScore, PatternEvidence, load_library, rank_hypotheses
from rca.signal_stages import COMPARISONS, stage_tests
from recommendations.signal_actions import Proposal, load_catalogue, load_guardrails, propose, severity_of

SAMPLES = 5
TOP_MERCHANTS = 50


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Spike(_Out):
    raised: bool
    p_value: float | None = Field(description="CUSUM p-value of a rise in the window (None: too few signals)")
    q_value: float | None = Field(description="Benjamini–Hochberg q-value within the pattern's family (new or "
                                  "established)")
    new: bool = Field(description="fewer than min_signals signals in the baseline: tested among the new patterns")
    dispersion: float = Field(description="negative-binomial dispersion α of its hourly counts in the baseline "
                              "(variance μ(1 + αμ); 0: Poisson)")
    start: datetime | None = Field(description="first hour the detectors flagged")
    baseline_per_hour: float
    window_per_hour: float


class StageComparison(_Out):
    stage: str = Field(description="in_progress, post_recent (migrated within 48 h) or post, each against pre")
    signals: int
    merchant_hours: float
    ratio: float | None = Field(description="Mantel–Haenszel rate ratio against merchants not yet migrated (by day); "
                                "None when not testable or unbounded (no signals before migration)")
    unbounded: bool = Field(False, description="signals at this stage and none before migration")
    ratio_low: float | None
    ratio_high: float | None
    p_value: float | None
    q_value: float | None


class StageAssociation(_Out):
    pre_signals: int
    pre_merchant_hours: float
    comparisons: tuple[StageComparison, ...]
    strongest: str | None = Field(description="the significant comparison with the smallest q-value")
    after_start_share: float | None = Field(
        description="share of its migrated merchants whose first signal came after their migration began")


class SampleSignal(_Out):
    id: str
    ts: datetime
    merchant_id: str
    text: str


class SignalPattern(_Out):
    id: str
    signal_type: str
    label: str
    fingerprint: dict[str, str]
    template: str
    signals: int
    merchants_affected: int
    merchant_share: float
    merchants: tuple[str, ...] = Field(description=f"the {TOP_MERCHANTS} merchants with the most signals")
    hourly: tuple[int, ...] = Field(description="signals per hour over the period (sparkline)")
    spike: Spike
    stage: StageAssociation | None
    severity: str
    hypotheses: tuple[HypothesisScore, ...]
    proposals: tuple[Proposal, ...]
    samples: tuple[SampleSignal, ...]


class SignalReport(_Out):
    start: datetime
    end: datetime
    baseline_end: datetime
    merchants: int
    migrated: int
    signals: int
    raised: int
    patterns: tuple[SignalPattern, ...]


@dataclass(frozen=True)
class SignalSettings:
    """How to investigate: window, stages, statistics and the library, catalogue and guardrail files."""

    window_days: float = 7.0
    recent_hours: float = 48.0
    patterns: PatternConfig = PatternConfig()
    spikes: SpikeConfig = SpikeConfig()
    hypotheses: Path | None = None
    catalogue: Path | None = None
    guardrails: Path | None = None
    feedback: Mapping[str, Feedback] = field(default_factory=dict)


def pattern_id(signal_type: str, fingerprint: tuple, template: str) -> str:
    """A stable id: a hash of the signal type, the fingerprint and the template."""
    key = "|".join([signal_type, *(f"{k}={v}" for k, v in fingerprint), template])
    return hashlib.sha1(key.encode()).hexdigest()[:12]


def _hours(ts: pd.Series, origin: pd.Timestamp) -> np.ndarray:
    return ((ts - origin) / pd.Timedelta(hours=1)).to_numpy(dtype=float)


def _nan(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


@dataclass(frozen=True, eq=False)
class Investigation:
    """The report and the pattern of every signal (``pattern_ids[i]`` is the pattern of ``signal_ids[i]``)."""

    report: SignalReport
    signal_ids: np.ndarray
    pattern_ids: np.ndarray


def investigate_signals(table: SignalTable, settings: SignalSettings = SignalSettings()) -> SignalReport:
    """The whole investigation of ``table`` (see the module docstring)."""
    return investigate(table, settings).report


def investigate(table: SignalTable, settings: SignalSettings = SignalSettings()) -> Investigation:
    """`investigate_signals`, keeping the pattern of every signal."""
    events = table.events
    if len(events) == 0:
        raise UserError("no tickets, API errors or webhook failures to analyse")
    library = load_library(settings.hypotheses)
    catalogue = load_catalogue(settings.catalogue)
    rules = load_guardrails(settings.guardrails)

    merchants = table.merchants
    m_index = {m: i for i, m in enumerate(merchants)}
    migrations = table.migrations
    start = min(events["ts"].min(), migrations["ts"].min()) if len(migrations) else events["ts"].min()
    axis = hour_axis(events["ts"], start, events["ts"].max())
    origin = pd.Timestamp(axis[0], tz="UTC")
    T = len(axis)
    window = int(round(min(settings.window_days * 24, T / 2)))
    if T - window < 24 or window < 1:
        raise UserError(f"the signals span {T} hours: need at least 48 (a day of baseline and a window)")

    assign = group_patterns(events, settings.patterns)
    P = len(assign.patterns)
    buckets = bucket_of(events["ts"], axis)
    counts = pattern_counts(assign.index, buckets, P, T)
    panel = pattern_rate_panel(counts, axis, len(merchants), [k.label for k in assign.patterns])
    spikes = spike_tests(panel, T - window, settings.spikes)

    merchant = events["merchant_id"].map(m_index).to_numpy(dtype=np.int64)
    started = np.full(len(merchants), np.inf)
    finished = np.full(len(merchants), np.inf)
    has_migrations = bool(len(migrations)) and migrations["stage"].ne("pre").any()
    if has_migrations:
        rows = migrations["merchant_id"].map(m_index).to_numpy(dtype=np.int64)
        started[rows] = np.nan_to_num(_hours(migrations["started"], origin), nan=np.inf)
        finished[rows] = np.nan_to_num(_hours(migrations["finished"], origin), nan=np.inf)
        stages = stage_tests(assign.index, merchant, _hours(events["ts"], origin), P, started, finished, float(T),
                             settings.recent_hours, settings.spikes.q)

    pairs = pd.DataFrame({"p": assign.index, "m": merchant}).value_counts()
    by_pattern = pairs.groupby(level="p")
    affected = by_pattern.size().reindex(range(P), fill_value=0).to_numpy()
    samples = events.assign(pattern_=assign.index).groupby("pattern_", sort=False).head(SAMPLES)
    sample_of: dict[int, list] = {}
    for row in samples.itertuples(index=False):
        sample_of.setdefault(row.pattern_, []).append(SampleSignal(id=row.id, ts=row.ts.to_pydatetime(),
                                                             merchant_id=row.merchant_id, text=row.text[:500]))
    stage_names = list(COMPARISONS)
    out = []
    total = counts.sum(axis=1)
    for p, key in enumerate(assign.patterns):
        fields = dict(key.fingerprint)
        stage = None
        stage_q: dict[str, float] = {}
        if has_migrations:
            comps = tuple(StageComparison(stage=name, signals=int(stages.signals[p, j]),
                                          merchant_hours=float(stages.hours[p, j]), ratio=_nan(stages.ratio[p, j]),
                                          unbounded=bool(np.isposinf(stages.ratio[p, j])),
                                          ratio_low=_nan(stages.low[p, j]), ratio_high=_nan(stages.high[p, j]),
                                          p_value=_nan(stages.p_value[p, j]), q_value=_nan(stages.q_value[p, j]))
                          for j, name in enumerate(stage_names))
            stage_q = {c.stage: c.q_value for c in comps
                       if c.q_value is not None and (c.unbounded or (c.ratio or 0) > 1)}
            significant = {s: q for s, q in stage_q.items() if q <= settings.spikes.q}
            stage = StageAssociation(pre_signals=int(stages.pre_signals[p]),
                                     pre_merchant_hours=float(stages.pre_hours[p]), comparisons=comps,
                                     strongest=min(significant, key=significant.get) if significant else None,
                                     after_start_share=_nan(stages.after_start[p]))
        share = float(affected[p] / len(merchants))
        hypotheses: tuple[HypothesisScore, ...] = ()
        proposals: tuple[Proposal, ...] = ()
        severity = "low"
        if total[p] >= settings.spikes.min_signals:
            evidence = PatternEvidence(signal_type=key.signal_type, fields=fields, template=key.template,
                                       stage_q=stage_q, after_start_share=stage.after_start_share if stage else None,
                                       migration_data=has_migrations)
            hypotheses = rank_hypotheses(evidence, library, settings.feedback)
            top = hypotheses[0]
            hyp = next((h for h in library.hypotheses if h.id == top.id), None)
            if spikes.raised[p]:
                severity = severity_of(hyp.severity if hyp else None, share)
                actions = hyp.actions if hyp else ("open_internal_ticket",)
                proposals = propose(actions, top.id, top.confidence, severity, int(affected[p]), share,
                                    catalogue, rules)
        top_merchants = by_pattern.get_group(p).sort_values(ascending=False).head(TOP_MERCHANTS) if affected[p] else None
        start_bucket = int(spikes.start[p])
        out.append(SignalPattern(
            id=pattern_id(key.signal_type, key.fingerprint, key.template), signal_type=key.signal_type,
            label=key.label, fingerprint=fields, template=key.template, signals=int(total[p]),
            merchants_affected=int(affected[p]), merchant_share=share,
            merchants=tuple(merchants[m] for _, m in top_merchants.index) if top_merchants is not None else (),
            hourly=tuple(int(c) for c in counts[p]),
            spike=Spike(raised=bool(spikes.raised[p]), p_value=_nan(spikes.p_value[p]), q_value=_nan(spikes.q_value[p]),
                        new=bool(spikes.new[p]), dispersion=float(spikes.dispersion[p]),
                        start=(pd.Timestamp(axis[T - window + start_bucket], tz="UTC").to_pydatetime()
                               if start_bucket >= 0 else None),
                        baseline_per_hour=float(spikes.baseline_per_hour[p]),
                        window_per_hour=float(spikes.window_per_hour[p])),
            stage=stage, severity=severity, hypotheses=hypotheses, proposals=proposals,
            samples=tuple(sample_of.get(p, ()))))
    out.sort(key=lambda pat: (not pat.spike.raised, pat.spike.q_value if pat.spike.q_value is not None else 2.0,
                              -pat.signals))
    report = SignalReport(start=origin.to_pydatetime(), end=(origin + pd.Timedelta(hours=T)).to_pydatetime(),
                          baseline_end=(origin + pd.Timedelta(hours=T - window)).to_pydatetime(),
                          merchants=len(merchants), migrated=int(np.isfinite(started).sum()), signals=len(events),
                          raised=int(spikes.raised.sum()), patterns=tuple(out))
    ids = np.array([pattern_id(k.signal_type, k.fingerprint, k.template) for k in assign.patterns], dtype=object)
    return Investigation(report, events["id"].to_numpy(dtype=object), ids[assign.index])
