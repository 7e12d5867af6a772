"""Localization instances like real incidents of a request-serving service: a failure ratio per minute.

Each instance is one anomalous minute of a KPI ``failures / requests`` over leaves (full combinations
of 4–6 categorical dimensions with 2 to ~30 values each), in the file layout of the RiskLoc and
Squeeze benchmarks (``<timestamp>.a.csv`` failures and ``<timestamp>.b.csv`` requests, columns
``<dims…>, real, predict``; truth in ``injection_info.csv``, ``set`` and ``set_share`` as written by
``shared/benchmarks/rca_localization/generate.py``), so the shared scorer reads it unchanged.

What makes these cases hard, and what the generator reproduces:

* the forecast of each leaf is the mean of its previous four minutes (of failures and of requests),
  so the forecast is itself noisy, and a leaf without history has forecast 0;
* traffic is very skewed: many leaves with a handful of requests, a few with thousands; a leaf with
  few requests is absent in some minutes, so leaves appear and disappear from minute to minute;
* ordinary leaves are noisy: binomial failures on top of a per-minute jitter of each leaf's failure
  rate (over-dispersion), so small leaves deviate a lot through count noise alone;
* usually one root-cause element of one or two dimensions, sometimes two or three elements (never
  nested, never every value under one parent), whose failure rate rises in the anomalous minute.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

HISTORY_MINUTES = 4


@dataclass(frozen=True)
class FailureRatioConfig:
    """Ranges the instances are drawn from (a pair is inclusive ``(low, high)``)."""

    n_dims: tuple[int, int] = (4, 6)
    cardinality: tuple[int, int] = (2, 30)
    leaves: tuple[int, int] = (2_000, 80_000)  # distinct leaves drawn (before empty minutes drop some)
    requests_per_leaf: float = 12.0  # mean requests per leaf per minute
    leaf_sigma: float = 1.6  # log-normal spread of leaf traffic on top of the dimension shares
    dim_alpha: float = 0.6  # Dirichlet concentration of the value shares (smaller = more skew)
    base_rate: float = 0.02  # typical failure ratio
    rate_sigma: float = 0.5  # logit spread of the failure ratio between leaves
    jitter: float = 0.3  # logit spread of a leaf's failure ratio from minute to minute
    elements: tuple[float, float, float] = (0.75, 0.17, 0.08)  # P(1, 2, 3 root-cause elements)
    layers: tuple[int, int] = (1, 2)  # dimensions per root-cause element
    severity: tuple[float, float] = (0.03, 0.5)  # share of the healthy requests that fail (log-uniform)
    min_requests: float = 50.0  # expected requests of a root-cause element in the minute


@dataclass(frozen=True)
class FailureRatioCase:
    """One anomalous minute: failures (numerator) and requests (denominator) leaves, and the truth."""

    numerator: pd.DataFrame
    denominator: pd.DataFrame
    dims: tuple[str, ...]
    truth: tuple[str, ...]  # root-cause elements, ``dim=value`` pairs joined by ``&`` (dims sorted)
    shares: tuple[float, ...]  # each element's share of the injected excess failures


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _elements_compatible(a: dict[int, int], b: dict[int, int]) -> bool:
    """Two elements may coexist when they share no dimension or differ on a shared one (never nested)."""
    shared = set(a) & set(b)
    return not shared or any(a[d] != b[d] for d in shared)


def _covers_a_parent(elements: list[dict[int, int]], cards: list[int]) -> bool:
    """True when elements of one cuboid hold every value of a dimension under a common parent."""
    groups: dict[tuple, set[int]] = {}
    for el in elements:
        for d in el:
            parent = (tuple(sorted(el)), d, tuple(sorted((k, v) for k, v in el.items() if k != d)))
            groups.setdefault(parent, set()).add(el[d])
    return any(len(vals) == cards[d] for (_, d, _), vals in groups.items())


def draw_case(rng: np.random.Generator, cfg: FailureRatioConfig = FailureRatioConfig()) -> FailureRatioCase:
    """One instance (see the module docstring)."""
    n_dims = int(rng.integers(cfg.n_dims[0], cfg.n_dims[1], endpoint=True))
    cards = [int(round(_log_uniform(rng, cfg.cardinality[0], cfg.cardinality[1] + 0.49))) for _ in range(n_dims)]
    names = [f"d{j + 1}" for j in range(n_dims)]
    shares = [rng.dirichlet(np.full(c, cfg.dim_alpha)) for c in cards]
    n_draw = int(round(_log_uniform(rng, cfg.leaves[0], cfg.leaves[1])))
    codes = np.stack([rng.choice(c, size=n_draw, p=p) for c, p in zip(cards, shares)], axis=1)
    codes = np.unique(codes, axis=0)
    n = len(codes)
    weight = np.prod([p[codes[:, j]] for j, p in enumerate(shares)], axis=0)
    weight *= rng.lognormal(-0.5 * cfg.leaf_sigma**2, cfg.leaf_sigma, n)
    traffic = weight / weight.sum() * cfg.requests_per_leaf * n  # expected requests per minute
    logit = np.log(cfg.base_rate / (1 - cfg.base_rate)) + rng.normal(0.0, cfg.rate_sigma, n)
    for j, c in enumerate(cards):
        logit += rng.normal(0.0, cfg.rate_sigma / 2, c)[codes[:, j]]

    minutes = HISTORY_MINUTES + 1
    requests = rng.poisson(traffic[None, :] * rng.lognormal(0.0, 0.1, (minutes, 1)), size=(minutes, n))
    rate = 1 / (1 + np.exp(-(logit[None, :] + rng.normal(0.0, cfg.jitter, (minutes, n)))))

    elements = _draw_elements(rng, cfg, codes, cards, requests[-1])
    factor_share = np.zeros(n)
    masks = []
    for el in elements:
        mask = np.all([codes[:, d] == v for d, v in el.items()], axis=0)
        masks.append(mask)
        severity = _log_uniform(rng, *cfg.severity)
        factor_share[mask] = 1 - (1 - factor_share[mask]) * (1 - severity)
    now = rate[-1] + (1 - rate[-1]) * factor_share
    failures = rng.binomial(requests, np.vstack([rate[:-1], now[None, :]]))
    excess = requests[-1] * (now - rate[-1])
    carried = np.array([excess[m].sum() for m in masks])

    num_pred = failures[:-1].mean(axis=0)
    den_pred = requests[:-1].mean(axis=0)
    present = (requests.sum(axis=0) > 0)
    keys = pd.DataFrame({nm: np.array([f"{nm}v{i + 1}" for i in range(c)])[codes[:, j]][present]
                         for j, (nm, c) in enumerate(zip(names, cards))})
    numerator = keys.assign(real=failures[-1][present].astype(float), predict=num_pred[present])
    denominator = keys.assign(real=requests[-1][present].astype(float), predict=den_pred[present])
    truth = tuple("&".join(f"{names[d]}={names[d]}v{v + 1}" for d, v in sorted(el.items())) for el in elements)
    total = carried.sum()
    return FailureRatioCase(numerator, denominator, tuple(names), truth,
                            tuple(float(c / total) if total > 0 else 0.0 for c in carried))


def _draw_elements(rng, cfg: FailureRatioConfig, codes, cards, requests_now) -> list[dict[int, int]]:
    """Root-cause elements: each takes the values of a traffic-weighted leaf on 1–2 random dimensions."""
    n_dims = len(cards)
    k = int(rng.choice(len(cfg.elements), p=np.asarray(cfg.elements) / sum(cfg.elements))) + 1
    p_leaf = requests_now / requests_now.sum() if requests_now.sum() > 0 else None
    for _ in range(200):
        chosen: list[dict[int, int]] = []
        for _ in range(500):
            if len(chosen) == k:
                break
            layer = int(rng.integers(cfg.layers[0], min(cfg.layers[1], n_dims), endpoint=True))
            dims = sorted(rng.choice(n_dims, size=layer, replace=False).tolist())
            leaf = codes[int(rng.choice(len(codes), p=p_leaf))]
            el = {d: int(leaf[d]) for d in dims}
            mask = np.all([codes[:, d] == v for d, v in el.items()], axis=0)
            if requests_now[mask].sum() < cfg.min_requests or mask.all():
                continue
            if all(_elements_compatible(el, other) for other in chosen):
                chosen.append(el)
        if len(chosen) == k and not _covers_a_parent(chosen, cards):
            return chosen
    raise RuntimeError("could not draw root-cause elements; loosen min_requests or the cardinalities")


def write_cases(out: Path, n: int, seed: int, cfg: FailureRatioConfig = FailureRatioConfig(),
                start_ts: int = 1600000000) -> Path:
    """Write ``n`` instances and ``injection_info.csv`` to ``out`` (the shared benchmark layout)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        ts = start_ts + 60 * i
        case = draw_case(rng, cfg)
        for side, frame in (("a", case.numerator), ("b", case.denominator)):
            _write_csv(frame, out / f"{ts}.{side}.csv")
        rows.append({"timestamp": ts, "set": ";".join(case.truth),
                     "set_share": ";".join(f"{s:.5f}" for s in case.shares),
                     "n_elements": len(case.truth), "n_leaves": len(case.numerator),
                     "n_dims": len(case.dims)})
    _write_csv(pd.DataFrame(rows), out / "injection_info.csv")
    return out


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        frame.to_csv(tmp, index=False, float_format="%.6g")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
