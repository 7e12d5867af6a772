"""The hypothesis library as data: `rca/hypotheses.yaml` plus a workspace's own `rca.hypotheses`.

A `Hypothesis` says what a cause looks like in the evidence — which change-event kinds (or names), which
driver features and which dimensions — and which remediations fit it. Candidates are labelled by
pattern matching (`HypothesisLibrary.label`), so adding a domain is a YAML edit, never a code branch.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

from data.errors import WorkspaceError

BUILTIN_PATH = Path(__file__).with_name("hypotheses.yaml")
KEYS = {"id", "description", "event_kinds", "event_names", "features", "dimensions", "remediation", "generic"}


@dataclass(frozen=True)
class Hypothesis:
    """One kind of cause and the evidence it leaves: event kinds/names, driver features, scope dimensions."""

    id: str
    description: str
    event_kinds: tuple[str, ...] = ()
    event_names: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    dimensions: tuple[str, ...] = ()
    remediation: tuple[str, ...] = ()
    generic: bool = False

    def matches_event(self, kind: str, name: str) -> bool:
        return _any(self.event_kinds, kind) or _any(self.event_names, name)

    def matches_feature(self, feature: str | None) -> bool:
        return feature is not None and _any(self.features, feature)

    def matches_dimensions(self, dimensions: tuple[str, ...]) -> bool:
        return any(_any(self.dimensions, d) for d in dimensions)


def _any(patterns: tuple[str, ...], text: str) -> bool:
    text = text.lower()
    return any(fnmatchcase(text, p.lower()) for p in patterns)


@dataclass(frozen=True)
class HypothesisLibrary:
    """Hypotheses in matching order: workspace ones, then built-in domain ones, then generic ones."""

    hypotheses: tuple[Hypothesis, ...]

    def get(self, hypothesis_id: str) -> Hypothesis:
        for h in self.hypotheses:
            if h.id == hypothesis_id:
                return h
        raise KeyError(hypothesis_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(h.id for h in self.hypotheses)

    def label(self, event_kind: str | None, event_name: str | None, feature: str | None,
              dimensions: tuple[str, ...] = ()) -> Hypothesis:
        """The hypothesis a candidate instantiates.

        Order: a domain hypothesis matching the change event (kind or name); else a domain hypothesis
        matching the driver feature; else the generic one for events (`event_kinds: ["*"]`) or for
        drivers (`features: ["*"]`). Among several matches, one whose `dimensions` match the candidate's
        scope dimensions wins; otherwise the first in library order.
        """
        domain = [h for h in self.hypotheses if not h.generic]
        generic = [h for h in self.hypotheses if h.generic]
        tiers: list[list[Hypothesis]] = []
        if event_kind is not None:
            tiers.append([h for h in domain if h.matches_event(event_kind, event_name or "")])
        tiers.append([h for h in domain if h.matches_feature(feature)])
        if event_kind is not None:
            tiers.append([h for h in generic if h.matches_event(event_kind, event_name or "")])
        tiers.append([h for h in generic if h.matches_feature(feature or "*")])
        for found in tiers:
            if found:
                by_scope = [h for h in found if h.matches_dimensions(dimensions)]
                return (by_scope or found)[0]
        raise LookupError("the hypothesis library has no generic hypothesis for this candidate")


def _as_patterns(value: Any, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise WorkspaceError(where, f"{key}: expected a list of patterns")
    return tuple(str(v) for v in value)


def parse_hypothesis(raw: Any, where: str) -> Hypothesis:
    """One hypothesis from its YAML mapping; raises `WorkspaceError` naming the key at fault."""
    if not isinstance(raw, dict):
        raise WorkspaceError(where, "each hypothesis must be a mapping with at least 'id' and 'description'")
    hid = raw.get("id")
    if not isinstance(hid, str) or not hid.strip():
        raise WorkspaceError(where, "a hypothesis needs an 'id'")
    here = f"{where}.{hid}"
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise WorkspaceError(here, f"{unknown[0]}: unknown key (allowed: {', '.join(sorted(KEYS))})")
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip():
        raise WorkspaceError(here, "description: required")
    h = Hypothesis(
        id=hid.strip(), description=" ".join(description.split()),
        event_kinds=_as_patterns(raw.get("event_kinds"), here, "event_kinds"),
        event_names=_as_patterns(raw.get("event_names"), here, "event_names"),
        features=_as_patterns(raw.get("features"), here, "features"),
        dimensions=_as_patterns(raw.get("dimensions"), here, "dimensions"),
        remediation=_as_patterns(raw.get("remediation"), here, "remediation"),
        generic=bool(raw.get("generic", False)),
    )
    if not (h.event_kinds or h.event_names or h.features):
        raise WorkspaceError(here, "needs at least one of event_kinds, event_names, features")
    return h


def _parse_list(raw: Any, where: str) -> list[Hypothesis]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise WorkspaceError(where, "expected a list of hypotheses")
    return [parse_hypothesis(item, where) for item in raw]


def load_hypotheses(workspace_rca: dict | None = None, path: Path = BUILTIN_PATH,
                    source: str = "workspace") -> HypothesisLibrary:
    """The built-in library extended (and overridden by id) by a workspace's ``rca.hypotheses``."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise WorkspaceError(str(path), f"cannot read the hypothesis library: {err}") from None
    builtin = _parse_list(doc.get("hypotheses"), f"{path.name}: hypotheses")
    extra = _parse_list((workspace_rca or {}).get("hypotheses"), f"{source}: rca.hypotheses")
    ids = [h.id for h in extra]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise WorkspaceError(f"{source}: rca.hypotheses", f"{dupes[0]!r} is defined twice")
    overridden = set(ids)
    ordered = extra + [h for h in builtin if h.id not in overridden]
    domain = [h for h in ordered if not h.generic]
    generic = [h for h in ordered if h.generic]
    if not any(h.event_kinds for h in generic) or not any(h.features for h in generic):
        raise WorkspaceError(str(path), "the library needs a generic event hypothesis and a generic driver hypothesis")
    return HypothesisLibrary(tuple(domain + generic))
