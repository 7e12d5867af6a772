"""Stage 4 — root-cause analysis: the hypothesis library tested against evidence; ranked causes.

Public entry points: `explain(ow, regressions)` (regressions → `Incident`s with ranked, calibrated
`Cause`s and their `Evidence`), `analyze(workspace, out)` (metrics → detect → explain → files), and the
hypothesis library `load_hypotheses`.
"""

from rca.analyze import Analysis, analyze
from rca.engine import RcaOptions, explain
from rca.hypotheses import Hypothesis, HypothesisLibrary, load_hypotheses
from rca.types import Cause, Evidence, Incident

__all__ = ["Analysis", "Cause", "Evidence", "Hypothesis", "HypothesisLibrary", "Incident", "RcaOptions", "analyze",
           "explain", "load_hypotheses"]
