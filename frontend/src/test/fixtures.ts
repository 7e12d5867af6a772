// A realistic API fixture for the CX demo (batching policy raised to 4 orders per trip in east and west),
// shaped as the backend serves it and as the RCA stage writes the evidence. Used by the unit tests.
import type { Action, AuditEntry, IncidentDetail, IncidentPublic, Me, Series, SliceChildren, Workspace } from "../api/types";

export const engineer: Me = { name: "ana", role: "engineer", token_id: 1, permissions: ["read", "write", "approve", "run_detection", "post_incidents", "post_signals", "admin"] };
export const pm: Me = { name: "paul", role: "pm", token_id: 2, permissions: ["read"] };

export const workspace: Workspace = {
  id: 1,
  name: "cx-fulfillment",
  description: "",
  path: "/data/demo/workspace.yaml",
  source: "registered",
  grain: "hour",
  dimensions: ["basket_bucket", "category", "channel", "region", "store_id"],
  metrics: [
    { name: "on_time_rate", type: "rate", good: "up", role: "cx", unit: null },
    { name: "item_accuracy", type: "rate", good: "up", role: "cx", unit: null },
    { name: "cancellation_rate", type: "rate", good: "down", role: "cx", unit: null },
    { name: "courier_minutes_per_order", type: "mean", good: "down", role: "efficiency", unit: "minutes" },
    { name: "cx_score", type: "composite", good: "up", role: "cx", unit: "pts" },
  ],
  has_cube: true,
  created_at: "2026-01-29T00:00:00",
  updated_at: "2026-01-29T00:00:00",
};

const base: IncidentPublic = {
  id: 7,
  workspace_id: 1,
  metric: "on_time_rate",
  slice: "*",
  direction: "down",
  start: "2026-01-15T12:00:00",
  end: "2026-01-29T00:00:00",
  baseline: 0.911,
  current: 0.882,
  relative_change: -0.0318,
  severity: "medium",
  status: "open",
  owner: null,
  top_cause: "policy_change: batching_threshold_4",
  top_confidence: 0.87,
  first_seen_at: "2026-01-29T01:00:00",
  last_seen_at: "2026-01-29T01:00:00",
  seen_count: 1,
};

export const incidents: IncidentPublic[] = [
  base,
  { ...base, id: 8, metric: "cx_score", baseline: 0.947, current: 0.938, relative_change: -0.0099, severity: "low", status: "acknowledged" },
  { ...base, id: 3, metric: "cancellation_rate", direction: "up", slice: "region=south", relative_change: 0.21, severity: "critical", status: "resolved", top_cause: null, top_confidence: null },
];

export const incidentDetail: IncidentDetail = {
  ...base,
  external_id: "on_time_rate-2026-01-15",
  notes: "",
  run_id: 1,
  dedup_key: "1|on_time_rate|*|2026-01-15T12:00:00",
  extra: { baseline_start: "2026-01-08T12:00:00", relative_interval: { low: -0.041, high: -0.023, level: 0.95 } },
  slices: [
    { slice: "region=east", share: 0.6 },
    { slice: "region=west", share: 0.41 },
  ],
  // one cause, two symptoms, measured in the incident's own scope (east and west) before → after its onset
  measured_in: ["region=east", "region=west"],
  shares_overlap: false,
  symptoms: [
    {
      id: "r-on-time", metric: "on_time_rate", direction: "down", good: "up", start: "2026-01-15T12:00:00", end: "2026-01-29T00:00:00",
      onset: "2026-01-15T12:00:00", baseline: 0.911, current: 0.882, change: -0.029, change_interval: { low: -0.033, high: -0.025 },
      relative_change: -0.032, measured_in: ["region=east", "region=west"], measured_from: "2026-01-08T12:00:00",
      onset_used: "2026-01-15T12:00:00", volume_per_day: 12225, impact_per_day: -355, q_value: 1e-30, standard_errors: 14.2,
      severity: "high", detected_in: "basket_bucket=2-3&category=restaurant",
    },
    {
      id: "r-cx", metric: "cx_score", direction: "down", good: "up", start: "2026-01-15T09:00:00", end: "2026-01-29T00:00:00",
      onset: "2026-01-15T12:00:00", baseline: 0.947, current: 0.938, change: -0.009, change_interval: { low: -0.011, high: -0.007 },
      relative_change: -0.0095, measured_in: ["region=east", "region=west"], measured_from: "2026-01-08T12:00:00",
      onset_used: "2026-01-15T12:00:00", volume_per_day: 12225, impact_per_day: null, q_value: 1e-12, standard_errors: 8.6,
      severity: "medium", detected_in: "region=east",
    },
  ],
  rejected: [
    {
      candidate: "web_release_4", kind: "change", confidence: 0.0, ruled_out_by: "timing",
      reason: "the change at 2026-01-07 20:47 lies in the metric's change-point interval 2026-01-15 12:00 – 2026-01-15 12:00, give or take one 1 h bucket? no → not on time",
    },
  ],
  causes: [
    {
      hypothesis: "policy_change",
      change_event: "batching_threshold_4",
      feature: "batching_threshold",
      confidence: 0.87,
      scope: ["region=east", "region=west"],
      summary: "batching_threshold_4 lowered on-time rate by 8.8 pp in east and west (DiD), at the change point.",
      evidence: {
        timing: {
          test: "timing", effect: 0.0, interval: { low: -1, high: 1 }, p_value: 0.006, supports: true,
          rule: "the change at 2026-01-15 12:00 lies in the metric's change-point interval 2026-01-15 11:00 – 2026-01-15 13:00, give or take one 1 h bucket? yes → on time",
          detail: { change_point: "2026-01-15T12:00:00", change_point_interval: ["2026-01-15T11:00:00", "2026-01-15T13:00:00"], candidate_time: "2026-01-15T12:00:00", hours_from_change_point: 0,
                    onset_statement: "the metric changed in the change's own hour (2026-01-15 12:00)" },
        },
        did: {
          test: "did", effect: -0.0877, interval: { low: -0.1049, high: -0.0705 }, p_value: 0.0001, supports: true,
          detail: { testable: true, z: -10.0, treated_units: 2, control_units: 4, standard_errors: "cluster-robust by unit (CR1)" },
        },
        event_study: {
          test: "event_study", effect: -0.085, interval: null, p_value: 0.001, supports: true,
          detail: { testable: true, pretrend_p: 0.62, periods: [
            { k: -2, effect: 0.002, low: -0.01, high: 0.014 },
            { k: -1, effect: 0, low: 0, high: 0 },
            { k: 0, effect: -0.07, low: -0.09, high: -0.05 },
            { k: 1, effect: -0.09, low: -0.11, high: -0.07 },
          ] },
        },
        shap: {
          test: "shap", effect: 0.71, interval: { low: 0.6, high: 0.8 }, p_value: 0.001, supports: true,
          detail: { feature: "batching_threshold", share_of_change: 0.71, top_inputs: [
            { input: "batching_threshold", delta_shap: -0.061 },
            { input: "courier_supply_ratio", delta_shap: -0.008 },
            { input: "prep_minutes", delta_shap: 0.002 },
          ] },
        },
        placebo_scope: {
          test: "placebo_scope", effect: -0.0877, interval: { low: -0.006, high: 0.004 }, p_value: 0.2, supports: true,
          rule: "no placebo scope moves as much as the real one (|real z| = 10.00; 0 of 4 placebo |z| as large, largest 0.71; permutation p = 0.2, the smallest 4 placebos allow is 0.2)? yes → the effect is specific to the change's scope: not refuted",
          detail: { testable: true, placebo_z: [-0.71, 0.12, 0.5, -0.2], placebo_effects: [-0.006, 0.001, 0.004, -0.002], real_z: -10.0 },
        },
      },
    },
    {
      hypothesis: "change_event",
      change_event: "ios_app_6.3.0",
      feature: null,
      confidence: 0.05,
      scope: [],
      summary: "ios_app_6.3.0 happened near the change but affects every region alike.",
      evidence: { scope: { test: "scope", effect: 0.2, interval: null, p_value: null, supports: false, detail: { candidate_scope: "*" } } },
    },
  ],
  recommendations: [
    {
      id: "revert_batching",
      action: "revert_policy",
      title: "Roll back batching_threshold_4 in east and west",
      description: "Return to at most 2 orders per courier trip where the policy changed.",
      metric: "on_time_rate",
      expected_effect: 0.051,
      interval: { low: 0.038, high: 0.064 },
      tradeoffs: [{ metric: "courier_minutes_per_order", effect: 1.8, interval: { low: 1.1, high: 2.5 } }],
      parameters: { batching_threshold: 2, share_of_stores: 1.0 },
    },
  ],
  experiment_plan: {
    title: "Batching limit test in east and west",
    hypothesis: "A batching limit of 2 restores on-time rate at an acceptable courier cost.",
    primary_metric: "on_time_rate",
    randomization_unit: "store_id",
    arms: ["limit 4 (control)", "limit 2"],
    mde: 0.02,
    alpha: 0.05,
    power: 0.8,
    sample_size_per_arm: 48000,
    duration_days: 14,
    guardrails: [{ metric: "courier_minutes_per_order", max_increase: "5%" }],
    rollout: ["Randomize stores 50/50", "Check sample ratio after 24 h", "Read out after 14 days"],
  },
  recommendation_status: "recommended",
  next_steps: [],
  feedback: [],
};

/** An incident the engine could not explain well enough to act on: checks instead of actions. */
export const inconclusiveDetail: IncidentDetail = {
  ...incidentDetail,
  id: 11,
  recommendations: [],
  experiment_plan: null,
  recommendation_status: "inconclusive",
  next_steps: [
    {
      check: "Check the candidate cause batching_threshold_4 (policy change) in region east (confidence 41%): it failed placebo time.",
      decides: "the same comparison at dates when nothing changed: it should show no effect",
    },
    {
      check: "Break on time rate in region east down by the other dimensions and by hour to see where the drop concentrates.",
      decides: "a slice that carries most of the drop narrows the search to the teams and changes that touch it.",
    },
  ],
};

/** A cause the engine trusts, but no action in its catalogue fits it. */
export const noActionDetail: IncidentDetail = { ...inconclusiveDetail, id: 12, recommendation_status: "no_action", next_steps: [] };

export const slicesTop: SliceChildren = {
  incident_id: 7,
  metric: "on_time_rate",
  parent: "*",
  baseline_window: ["2026-01-08T12:00:00", "2026-01-15T12:00:00"],
  current_window: ["2026-01-15T12:00:00", "2026-01-29T00:00:00"],
  parent_baseline: 0.911,
  parent_current: 0.882,
  count: 6,
  data: [
    { slice: "region=east", baseline: 0.913, current: 0.818, change: -0.095, baseline_n: 9000, current_n: 18000, contribution: -0.0174, share: 0.6 },
    { slice: "region=west", baseline: 0.9, current: 0.823, change: -0.077, baseline_n: 8000, current_n: 16000, contribution: -0.0119, share: 0.41 },
    { slice: "region=north", baseline: 0.91, current: 0.912, change: 0.002, baseline_n: 7000, current_n: 14000, contribution: 0.0005, share: -0.02 },
    { slice: "category=grocery", baseline: 0.92, current: 0.9, change: -0.02, baseline_n: 5000, current_n: 10000, contribution: -0.004, share: 0.14 },
    { slice: "category=restaurant", baseline: 0.9, current: 0.87, change: -0.03, baseline_n: 15000, current_n: 30000, contribution: -0.02, share: 0.54 },
    { slice: "channel=ios", baseline: 0.91, current: 0.88, change: -0.03, baseline_n: 12000, current_n: 24000, contribution: -0.012, share: 0.43 },
  ],
};

export function series(metric: string, slice: string): Series {
  const points = [];
  const start = Date.parse("2026-01-01T00:00:00Z");
  for (let h = 0; h < 28 * 24; h += 1) {
    const t = start + h * 3600e3;
    const after = t >= Date.parse("2026-01-15T12:00:00Z");
    const hit = after && (slice === "*" || slice.includes("east") || slice.includes("west"));
    const value = 0.91 - (hit ? (slice === "*" ? 0.03 : 0.09) : 0) + 0.01 * Math.sin(h / 3);
    points.push({ ts: new Date(t).toISOString(), value, low: value - 0.02, high: value + 0.02, numerator: value * 100, denominator: 100, n: 100 });
  }
  return { workspace_id: 1, metric, slice, unit: null, grain: "hour", points };
}

export const actions: Action[] = [
  {
    id: 1, incident_id: 7, key: "revert_batching", title: "Roll back batching_threshold_4 in east and west",
    description: "Return to at most 2 orders per courier trip.", source: "job", payload: {}, status: "proposed",
    proposed_by: "detect-job", created_at: "2026-01-29T01:00:00", decided_by: null, decided_at: null, decision_comment: "",
  },
];

export const audit: AuditEntry[] = [
  { id: 2, at: "2026-01-29T02:00:00", actor: "ana", actor_role: "engineer", action: "incident.update", entity_type: "incident", entity_id: "7", before: { status: "open" }, after: { status: "acknowledged" } },
  { id: 1, at: "2026-01-29T01:00:00", actor: "detect-job", actor_role: "job", action: "action.propose", entity_type: "action", entity_id: "1", before: null, after: { title: "Roll back", status: "proposed" } },
];
