"""The migration simulator: a fortnight of operational signals while merchants move to a new platform.

`simulate_migration` writes ``signals.jsonl`` (tickets, API errors, webhook failures and migration-state
updates, the `data.signals` records) and ``truth.json`` (the injected patterns: cause, signal type, the
ids of their signals and the merchants hit). Merchants migrate one by one over the second half of the
period (started → finished after a few hours); a share of them never migrates within it.

*Background noise* runs all the time at stationary rates with an hour-of-day profile, proportional to each
merchant's activity (log-normal): routine API errors (missing orders, validation errors, timeouts, a
few rate limits on another endpoint), webhook timeouts and everyday tickets in several phrasings.
*Injected patterns* follow the migration of a random subset of merchants, each caused by one entry of the
signal hypothesis library (`rca/signal_hypotheses.yaml`):

- ``checkout_callback``: checkout callbacks fail after migration (callback URL change), with tickets
  from the same merchants (``checkout_tickets``), strong for 48 h and then fading as merchants fix it;
- ``webhook_v2``: webhooks on the retired API version fail from the switch on (webhook version mismatch);
- ``token_v1``: old-version tokens rejected by the new gateway for two days (token version mismatch);
- ``sync_rate_limit``: rate limits on the inventory sync while a merchant's migration is in progress;
- ``image_timeouts``: an image-resizing outage for a random 30% of all merchants, migrated or not, over
  the last 30% of the period: a cause outside the library (truth ``unknown``), unrelated to migration.

Determinism: one ``numpy.random.default_rng(seed)``; the same arguments give the same files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from data.errors import UserError

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
RECENT_HOURS = 48.0


@dataclass(frozen=True)
class Kind:
    """One kind of signal: its record fields (``{}`` placeholders filled per signal) and its phrasings."""

    name: str
    type: str
    fields: dict
    texts: tuple[str, ...]
    rate: float  # per merchant-hour (noise) or per affected merchant-hour (injected)


NOISE = (
    Kind("order_not_found", "api_error",
         {"status": 404, "code": "NOT_FOUND", "method": "GET", "endpoint": "/admin/api/orders/{order}"},
         ("Order {order} not found",), 0.020),
    Kind("product_validation", "api_error",
         {"status": 422, "code": "VALIDATION_FAILED", "method": "POST", "endpoint": "/admin/api/products"},
         ("Product {order} variant {small} price must be positive",), 0.010),
    Kind("products_internal", "api_error",
         {"status": 500, "code": "INTERNAL_ERROR", "method": "GET", "endpoint": "/admin/api/products"},
         ("Internal error while loading products page {small} (request {req})",), 0.008),
    Kind("customers_rate_limit", "api_error",
         {"status": 429, "code": "RATE_LIMITED", "method": "GET", "endpoint": "/admin/api/customers"},
         ("Rate limit exceeded: {small} requests/s for shop {shop}",), 0.004),
    Kind("carrier_timeout", "api_error",
         {"status": 503, "code": "UPSTREAM_TIMEOUT", "method": "POST", "endpoint": "/admin/api/fulfillments"},
         ("Upstream carrier {carrier} timed out after {ms} ms",), 0.006),
    Kind("orders_webhook_timeout", "webhook_failure",
         {"topic": "orders/create", "api_version": "2026-01", "status": 504, "reason": "timeout"},
         ("Delivery to https://{host}/hooks/orders timed out after {ms} ms",), 0.010),
    Kind("products_webhook_refused", "webhook_failure",
         {"topic": "products/update", "api_version": "2026-01", "reason": "connection_refused"},
         ("Connection refused by {host} port {port}",), 0.004),
    Kind("ticket_logo", "ticket", {},
         ("How do I change the logo on my storefront theme",
          "The theme editor will not let me upload a new logo image",
          "Need help replacing the storefront logo in the theme settings"), 0.004),
    Kind("ticket_refund", "ticket", {},
         ("Refund for order {order} never reached the customer card",
          "Customer says the refund for order {order} is missing from their statement",
          "Where is the refund I issued for order {order}"), 0.004),
    Kind("ticket_shipping", "ticket", {},
         ("Shipping rates are wrong for the {zone} zone",
          "Customers in {zone} see the wrong shipping rate at delivery options",
          "Please fix the shipping rate table for {zone}"), 0.004),
    Kind("ticket_domain", "ticket", {},
         ("Custom domain {host} does not connect, DNS records look right",
          "My domain {host} still shows the parking page after the DNS change",
          "Cannot verify domain {host} even though the DNS records are set"), 0.003),
    Kind("ticket_payout", "ticket", {},
         ("Payout of {amount} USD for last week has not arrived in my bank account",
          "Bank payout of {amount} USD is late again",
          "Weekly payout missing from bank account, amount {amount} USD"), 0.003),
)

INJECTED = {
    "checkout_callback": (Kind(
        "checkout_callback", "api_error",
        {"status": 502, "code": "CHECKOUT_CALLBACK_FAILED", "method": "POST", "endpoint": "/checkout/callbacks"},
        ("Checkout callback to https://{host}/checkout/notify failed: connection refused (order {order})",),
        0.6), "callback_url_change", "post_recent", 0.45),
    "checkout_tickets": (Kind(
        "checkout_tickets", "ticket", {},
        ("Customers cannot complete checkout since the migration, the payment step fails for order {order}",
         "Checkout broken after migration: customers stuck at the payment step",
         "Since the migration no customer can finish checkout, payment step shows an error"),
        0.05), "callback_url_change", "post_recent", None),  # the merchants of checkout_callback
    "webhook_v2": (Kind(
        "webhook_v2", "webhook_failure",
        {"topic": "orders/paid", "api_version": "2023-01", "status": 410, "reason": "unsupported_version"},
        ("Subscription {order} targets API version 2023-01 which the new platform no longer serves",),
        0.4), "webhook_version_mismatch", "post", 0.35),
    "token_v1": (Kind(
        "token_v1", "api_error",
        {"status": 401, "code": "INVALID_TOKEN_VERSION", "method": "GET", "endpoint": "/admin/api/inventory_levels"},
        ("Access token {token} was issued for API v1 and is rejected by the v2 gateway",),
        0.3), "token_version_mismatch", "post_recent", 0.3),
    "sync_rate_limit": (Kind(
        "sync_rate_limit", "api_error",
        {"status": 429, "code": "RATE_LIMITED", "method": "POST", "endpoint": "/admin/api/inventory/sync"},
        ("Rate limit exceeded during bulk inventory sync: {small} requests/s for shop {shop}",),
        2.5), "rate_limit_during_sync", "in_progress", 1.0),
    "image_timeouts": (Kind(
        "image_timeouts", "api_error",
        {"status": 504, "code": "GATEWAY_TIMEOUT", "method": "GET", "endpoint": "/cdn/images/{order}"},
        ("Image {order} could not be resized within {ms} ms",),
        0.15), "unknown", "everyone", 0.3),
}
PATTERNS = tuple(INJECTED)

_CARRIERS = ("ups", "fedex", "dhl", "usps", "royalmail")
_ZONES = ("north", "south", "east", "west", "central", "international")


@dataclass(frozen=True)
class SimulationResult:
    out: Path
    signals: int
    merchants: int
    migrated: int
    patterns: tuple[str, ...]


_FILLERS = {
    "order": lambda rng, m: str(rng.integers(1_000_000, 9_999_999)),
    "small": lambda rng, m: str(rng.integers(2, 90)),
    "req": lambda rng, m: f"req-{rng.integers(16 ** 7, 16 ** 8):x}",
    "shop": lambda rng, m: m,
    "carrier": lambda rng, m: _CARRIERS[rng.integers(len(_CARRIERS))],
    "ms": lambda rng, m: str(rng.integers(3_000, 30_000)),
    "host": lambda rng, m: f"{m}.example.com",
    "port": lambda rng, m: str(rng.choice([443, 8443, 8080])),
    "zone": lambda rng, m: _ZONES[rng.integers(len(_ZONES))],
    "amount": lambda rng, m: f"{rng.uniform(80, 9_000):.2f}",
    "token": lambda rng, m: f"shpat_{rng.integers(16 ** 11, 16 ** 12):x}",
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _fill(template: str, rng: np.random.Generator, merchant: str) -> str:
    return _PLACEHOLDER.sub(lambda match: _FILLERS[match.group(1)](rng, merchant), template)


def _record(kind: Kind, sid: str, ts: datetime, merchant: str, rng: np.random.Generator) -> dict:
    text = _fill(kind.texts[rng.integers(len(kind.texts))], rng, merchant)
    row = {"id": sid, "type": kind.type, "ts": ts.isoformat(), "merchant_id": merchant}
    row.update({k: (_fill(v, rng, merchant) if isinstance(v, str) and "{" in v else v) for k, v in kind.fields.items()})
    if kind.type == "ticket":
        row["body"] = text
    else:
        row["message"] = text
    return row


def simulate_migration(out: Path, merchants: int = 200, days: int = 14, seed: int = 0,
                       patterns: tuple[str, ...] = PATTERNS, migrated_share: float = 0.85) -> SimulationResult:
    """Write ``signals.jsonl`` and ``truth.json`` for a migration of ``merchants`` over ``days`` days."""
    if merchants < 10:
        raise UserError("--merchants must be at least 10")
    if not 4 <= days <= 90:
        raise UserError("--days must be between 4 and 90")
    unknown = sorted(set(patterns) - set(INJECTED))
    if unknown:
        raise UserError(f"unknown pattern {unknown[0]!r}; one of: {', '.join(INJECTED)}")
    if "checkout_tickets" in patterns and "checkout_callback" not in patterns:
        raise UserError("pattern checkout_tickets needs checkout_callback (same merchants)")
    rng = np.random.default_rng(seed)
    hours = days * 24
    ids = [f"m{i:05d}" for i in range(merchants)]
    activity = rng.lognormal(0.0, 0.5, merchants)
    activity /= activity.mean()

    # Migration: started uniformly over the second half, in progress 2-10 h; some never migrate.
    migrates = rng.random(merchants) < migrated_share
    started = rng.uniform(hours / 2, hours - 12, merchants)
    finished = started + rng.uniform(2.0, 10.0, merchants)

    rows: list[tuple[float, dict]] = []
    counter = iter(range(10 ** 12))

    def add(kind: Kind, at_hours: np.ndarray, who: np.ndarray) -> list[str]:
        made = []
        for h, m in zip(at_hours.tolist(), who.tolist()):
            sid = f"s{next(counter):08d}"
            rows.append((h, _record(kind, sid, START + timedelta(hours=h), ids[m], rng)))
            made.append(sid)
        return made

    for i, m in enumerate(ids):  # every merchant starts in `pre`; updates when it starts and finishes
        rows.append((0.0, {"id": f"mig-{m}-0", "type": "migration_state", "ts": START.isoformat(),
                           "merchant_id": m, "stage": "pre"}))
        if migrates[i]:
            s, f = START + timedelta(hours=float(started[i])), START + timedelta(hours=float(finished[i]))
            rows.append((started[i], {"id": f"mig-{m}-1", "type": "migration_state", "ts": s.isoformat(),
                                      "merchant_id": m, "stage": "in_progress", "started": s.isoformat()}))
            rows.append((finished[i], {"id": f"mig-{m}-2", "type": "migration_state", "ts": f.isoformat(),
                                       "merchant_id": m, "stage": "post", "started": s.isoformat(),
                                       "finished": f.isoformat()}))

    hour_of_day = np.arange(hours) % 24
    profile = 0.55 + 0.45 * np.sin((hour_of_day - 8) / 24 * 2 * np.pi) + 0.3  # busy afternoons, quiet nights
    profile /= profile.mean()
    weights = activity / activity.sum()
    for kind in NOISE:
        counts = rng.poisson(kind.rate * profile * activity.sum())
        at = np.repeat(np.arange(hours), counts) + rng.random(counts.sum())
        add(kind, at, rng.choice(merchants, size=counts.sum(), p=weights))

    truth = []
    migrated_idx = np.flatnonzero(migrates)
    hit_by: dict[str, np.ndarray] = {}
    for name in patterns:
        kind, cause, stage, share = INJECTED[name]
        pool = np.arange(merchants) if stage == "everyone" else migrated_idx
        hit = hit_by["checkout_callback"] if share is None else \
            np.sort(rng.choice(pool, size=max(1, round(share * len(pool))), replace=False))
        hit_by[name] = hit
        at_all, who_all = [], []
        for m in hit.tolist():
            if stage == "everyone":
                spans = [(0.7 * hours, hours, 1.0)]
            elif stage == "in_progress":
                spans = [(started[m], finished[m], 1.0)]
            elif stage == "post_recent":  # strong for 48 h, then a fifth of it (most merchants fixed it)
                spans = [(finished[m], finished[m] + RECENT_HOURS, 1.0), (finished[m] + RECENT_HOURS, hours, 0.2)]
            else:
                spans = [(finished[m], hours, 1.0)]
            for a, b, level in spans:
                b = min(b, hours)
                if b <= a:
                    continue
                n = rng.poisson(kind.rate * level * activity[m] * (b - a))
                at_all.append(rng.uniform(a, b, n))
                who_all.append(np.full(n, m))
        at = np.concatenate(at_all) if at_all else np.zeros(0)
        who = np.concatenate(who_all).astype(int) if who_all else np.zeros(0, dtype=int)
        signal_ids = add(kind, at, who)
        truth.append({"pattern": name, "cause": cause, "signal_type": kind.type, "stage": stage,
                      "signals": len(signal_ids), "merchants": sorted({ids[m] for m in who.tolist()}),
                      "signal_ids": signal_ids})

    rows.sort(key=lambda item: item[0])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        with open(tmp / "signals.jsonl", "w", encoding="utf-8") as fh:
            for _, row in rows:
                fh.write(json.dumps(row, separators=(",", ":")))
                fh.write("\n")
        meta = {"start": START.isoformat(), "days": days, "merchants": merchants, "seed": seed,
                "migrated": int(migrates.sum()), "recent_hours": RECENT_HOURS, "patterns": truth,
                "noise": [kind.name for kind in NOISE]}
        (tmp / "truth.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        os.chmod(tmp, 0o755)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SimulationResult(out, len(rows), merchants, int(migrates.sum()), tuple(patterns))


@dataclass(frozen=True)
class PatternVerdict:
    """How one injected pattern was found: the found pattern holding most of its signals, the share of
    its signals there (``recall``), the share of that pattern's signals that are its own (``purity``),
    whether that pattern was raised and the cause ranked first."""

    pattern: str
    cause: str
    found: str | None
    recall: float
    purity: float
    raised: bool
    top_cause: str | None

    @property
    def one_pattern(self) -> bool:
        """Found as one pattern: no split (≥ 95% of its signals together), no merge (≥ 95% pure)."""
        return self.recall >= 0.95 and self.purity >= 0.95

    @property
    def correct(self) -> bool:
        return self.one_pattern and self.raised and self.top_cause == self.cause


def evaluate_patterns(truth: dict, signal_ids, pattern_ids, raised: set[str],
                      top_cause: dict[str, str]) -> tuple[PatternVerdict, ...]:
    """Score found patterns against ``truth`` (a loaded truth.json); ``pattern_ids[i]`` is the pattern of
    ``signal_ids[i]``, ``raised`` the raised pattern ids, ``top_cause`` each pattern's first-ranked cause."""
    of = dict(zip(list(signal_ids), list(pattern_ids)))
    sizes: dict[str, int] = {}
    for p in pattern_ids:
        sizes[p] = sizes.get(p, 0) + 1
    out = []
    for entry in truth["patterns"]:
        found = [of[s] for s in entry["signal_ids"] if s in of]
        if not found:
            out.append(PatternVerdict(entry["pattern"], entry["cause"], None, 0.0, 0.0, False, None))
            continue
        values, counts = np.unique(np.asarray(found, dtype=object), return_counts=True)
        best = values[counts.argmax()]
        out.append(PatternVerdict(entry["pattern"], entry["cause"], str(best), counts.max() / len(entry["signal_ids"]),
                                  counts.max() / sizes[best], best in raised, top_cause.get(best)))
    return tuple(out)
