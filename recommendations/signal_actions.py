"""Deciding what to do about a signal pattern: proposed actions, their risk, and the guardrails.

The catalogue (``recommendations/signal_actions.yaml``) says which tool each action uses, whether it
leaves the system and its base risk; the hypothesis behind a pattern names its actions. A proposal's
risk score grows with the base risk, the share of merchants it touches and the pattern's severity:
risk = 1 − (1 − base)(1 − share/2)(1 − s), with s = 0, 0.05, 0.1, 0.2 for low … critical. Guardrail
policies (``recommendations/signal_guardrails.yaml`` or a workspace file) decide which proposals may
run alone and which need an engineer's approval, with the reasons written on the proposal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from data.errors import UserError

CATALOGUE = Path(__file__).with_name("signal_actions.yaml")
GUARDRAILS = Path(__file__).with_name("signal_guardrails.yaml")
Tool = Literal["internal_ticket", "doc_draft", "escalation", "webhook_post"]
Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
_SEVERITY_RISK = {"low": 0.0, "medium": 0.05, "high": 0.1, "critical": 0.2}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignalAction(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    description: str = Field(min_length=1)
    tool: Tool
    leaves_system: bool
    risk: float = Field(ge=0, le=1)


class ActionCatalogue(_Strict):
    actions: tuple[SignalAction, ...] = Field(min_length=1)

    def get(self, action_id: str) -> SignalAction:
        for action in self.actions:
            if action.id == action_id:
                return action
        raise KeyError(action_id)


class ApprovalRules(_Strict):
    min_confidence: float = Field(0.8, ge=0, le=1)
    severities: tuple[Severity, ...] = ("critical",)
    max_merchants: int = Field(50, ge=0)
    leaves_system: bool = True
    max_risk: float = Field(0.5, ge=0, le=1)


class Guardrails(_Strict):
    auto_run: tuple[Tool, ...] = ("internal_ticket", "doc_draft")
    require_approval: ApprovalRules = ApprovalRules()


class Proposal(_Strict):
    """An action proposed for a pattern, with its confidence, risk and whether it needs an approval."""

    action: str
    description: str
    tool: Tool
    leaves_system: bool
    hypothesis: str
    confidence: float
    risk: float
    severity: Severity
    merchants: int
    needs_approval: bool
    reasons: tuple[str, ...] = Field(description="why it needs an approval (empty: it may run alone)")


def _load(path: Path, model: type[BaseModel], what: str):
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such {what} file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise UserError(f"{path}: not readable YAML ({err.__class__.__name__})") from None
    try:
        return model.model_validate(raw if raw is not None else {})
    except ValidationError as err:
        first = err.errors()[0]
        raise UserError(f"{path}: field '{'.'.join(map(str, first['loc'])) or what}': {first['msg']}") from None


def load_catalogue(path: Path | None = None) -> ActionCatalogue:
    catalogue = _load(path or CATALOGUE, ActionCatalogue, "action catalogue")
    ids = [a.id for a in catalogue.actions]
    if len(set(ids)) != len(ids):
        raise UserError(f"{path or CATALOGUE}: action ids must be unique")
    return catalogue


def load_guardrails(path: Path | None = None) -> Guardrails:
    """Guardrail policies, validated: unknown keys, tools or severities are errors naming the field."""
    return _load(path or GUARDRAILS, Guardrails, "guardrails")


def severity_of(hypothesis_severity: Severity | None, merchant_share: float) -> Severity:
    """The worse of the cause's severity and the breadth: ≥30% of merchants critical, ≥10% high, ≥2% medium."""
    breadth = "critical" if merchant_share >= 0.3 else "high" if merchant_share >= 0.1 else \
        "medium" if merchant_share >= 0.02 else "low"
    levels = [SEVERITIES.index(breadth)] + ([SEVERITIES.index(hypothesis_severity)] if hypothesis_severity else [])
    return SEVERITIES[max(levels)]


def risk_score(action: SignalAction, merchant_share: float, severity: Severity) -> float:
    return 1 - (1 - action.risk) * (1 - min(merchant_share, 1.0) / 2) * (1 - _SEVERITY_RISK[severity])


def approval_reasons(action: SignalAction, confidence: float, risk: float, severity: Severity, merchants: int,
                     rules: Guardrails) -> tuple[str, ...]:
    r = rules.require_approval
    reasons = []
    if action.tool not in rules.auto_run:
        reasons.append(f"tool {action.tool} is not allowed to run alone")
    if confidence < r.min_confidence:
        reasons.append(f"confidence {confidence:.2f} is under {r.min_confidence:.2f}")
    if severity in r.severities:
        reasons.append(f"severity {severity}")
    if merchants > r.max_merchants:
        reasons.append(f"{merchants} merchants is more than {r.max_merchants}")
    if r.leaves_system and action.leaves_system:
        reasons.append("it leaves the system")
    if risk > r.max_risk:
        reasons.append(f"risk {risk:.2f} is above {r.max_risk:.2f}")
    return tuple(reasons)


def propose(action_ids: tuple[str, ...], hypothesis: str, confidence: float, severity: Severity, merchants: int,
            merchant_share: float, catalogue: ActionCatalogue, rules: Guardrails) -> tuple[Proposal, ...]:
    """Proposals for the actions ``action_ids`` of one pattern's leading hypothesis."""
    out = []
    for action_id in action_ids:
        try:
            action = catalogue.get(action_id)
        except KeyError:
            raise UserError(f"hypothesis {hypothesis}: action '{action_id}' is not in the action catalogue") from None
        risk = risk_score(action, merchant_share, severity)
        reasons = approval_reasons(action, confidence, risk, severity, merchants, rules)
        out.append(Proposal(action=action.id, description=action.description, tool=action.tool,
                            leaves_system=action.leaves_system, hypothesis=hypothesis, confidence=confidence,
                            risk=round(risk, 4), severity=severity, merchants=merchants,
                            needs_approval=bool(reasons), reasons=reasons))
    return tuple(out)
