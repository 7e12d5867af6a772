"""Stage 5 — recommendations: actions, expected impact, tradeoffs, what-if and experiment plans.

Public entry points:

- `recommend(ow, incident, ...) -> RecommendationSet`: ranked actions for an incident's causes, each
  with its expected impact on every metric (DiD and outcome-model counterfactual, with intervals),
  its CX-vs-efficiency tradeoff, a PM summary, and an experiment plan for the top action (next steps
  instead for an inconclusive incident); `Recommender(ow).prepare(incidents)` does the same for many
  incidents of one workspace, fitting the outcome model once;
- `whatif(ow, changes, scope, ...) -> WhatIfResult`: predicted metric changes for driver changes;
- `render_markdown(recset)`, `render_plan_markdown(plan)`, `render_plan_pdf(plan, path)`: reports.
"""

from recommendations.counterfactual import DriverChange, parse_change
from recommendations.experiment import design_effect, icc_anova, plan_experiment, sample_size_means, \
    sample_size_proportions
from recommendations.pipeline import Recommender, recommend
from recommendations.render import render_markdown, render_plan_markdown, render_plan_pdf, render_whatif
from recommendations.settings import catalogue, load_settings
from recommendations.types import (
    Action, Estimate, ExperimentPlan, NextStep, Impact, MetricImpact, Recommendation, RecommendationSet, Tradeoff, WhatIfResult,
)
from recommendations.whatif import whatif

__all__ = [
    "Action", "DriverChange", "NextStep", "Recommender", "Estimate", "ExperimentPlan", "Impact", "MetricImpact", "Recommendation",
    "RecommendationSet", "Tradeoff", "WhatIfResult", "catalogue", "design_effect", "icc_anova", "load_settings",
    "parse_change", "plan_experiment", "recommend", "render_markdown", "render_plan_markdown", "render_plan_pdf",
    "render_whatif", "sample_size_means", "sample_size_proportions", "whatif",
]
