// A realistic API fixture for the CX demo (batching policy raised to 4 orders per trip in east and west),
// shaped as the backend serves it and as the RCA stage writes the evidence. Used by the unit tests.
import type { Action, AuditEntry, IncidentDetail, IncidentPublic, Me, Series, SliceChildren, Workspace } from "../api/types";
import detail from "./incident-detail.json";

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

/** The batching incident as GET /api/incidents/7 serves it (built from the engine's values and validated by
 * the API's model: tests/backend/api/test_api_contract.py). */
export const incidentDetail = { ...(detail as unknown as IncidentDetail & { _about?: string }), _about: undefined } as IncidentDetail;

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
