"""Database tables, one module per resource; importing this package registers them all on `Base.metadata`."""

from backend.models.action import Action
from backend.models.audit import AuditEntry
from backend.models.base import Base, naive_utc, utcnow
from backend.models.incident import Feedback, Incident
from backend.models.outbox import OutboxMessage
from backend.models.reconciliation import ReconciliationRun
from backend.models.signal import Signal
from backend.models.signal_ops import SignalAnalysis, SignalProposal, SignalRecord
from backend.models.token import ApiToken
from backend.models.workspace import Run, Workspace

__all__ = ["Action", "ApiToken", "AuditEntry", "Base", "Feedback", "Incident", "OutboxMessage", "ReconciliationRun", "Run", "Signal",
           "SignalAnalysis", "SignalProposal", "SignalRecord", "Workspace", "naive_utc", "utcnow"]
