// Domain types the pages use. The resource shapes mirror the backend's pydantic schemas
// (backend/schemas/*.py); the incident payload (causes, evidence, recommendations, experiment plan)
// mirrors the engine's values (rca.Cause/Evidence, recommendations.*) as incidents.json carries them.

export type Role = "engineer" | "pm" | "job";
export type Severity = "low" | "medium" | "high" | "critical";
export type IncidentStatus = "open" | "acknowledged" | "resolved" | "dismissed";
export type FeedbackLabel = "confirmed" | "false_alarm" | "expected_change";
export type ActionStatus = "proposed" | "approved" | "rejected";

export interface Interval {
  low: number;
  high: number;
  level?: number;
}

export interface Page<T> {
  data: T[];
  count: number;
}

export interface Me {
  name: string;
  role: Role;
  token_id?: number | null;
  permissions: string[];
}

export interface MetricInfo {
  name: string;
  type: string;
  good: string;
  role: string;
  unit?: string | null;
}

export interface Workspace {
  id: number;
  name: string;
  description: string;
  path?: string;
  grain: string;
  dimensions: string[];
  metrics: MetricInfo[];
  has_cube: boolean;
}

export interface SeriesPoint {
  ts: string;
  value: number | null;
  low?: number | null;
  high?: number | null;
  numerator?: number;
  denominator?: number;
  n?: number;
}

export interface Series {
  workspace_id: number;
  metric: string;
  slice: string;
  unit?: string | null;
  grain: string;
  points: SeriesPoint[];
}

export interface ChangeEvent {
  ts: string;
  name: string;
  kind: string;
  scope: string;
  description: string;
}

export interface SliceShare {
  slice: string;
  share?: number | null;
  score?: number | null;
  [k: string]: unknown;
}

export interface SliceChild {
  slice: string;
  baseline: number | null;
  current: number | null;
  change: number | null;
  baseline_n: number;
  current_n: number;
  contribution: number | null;
  share: number | null;
}

export interface SliceChildren {
  incident_id: number;
  metric: string;
  parent: string;
  baseline_window: [string, string];
  current_window: [string, string];
  parent_baseline: number | null;
  parent_current: number | null;
  data: SliceChild[];
  count: number;
}

export interface Evidence {
  test?: string;
  effect?: number | null;
  interval?: Interval | null;
  p_value?: number | null;
  supports?: boolean | null;
  detail?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface Cause {
  hypothesis: string;
  change_event?: string | null;
  feature?: string | null;
  confidence?: number | null;
  summary?: string | null;
  evidence: Record<string, Evidence>;
  scope?: (string | SliceShare)[];
  remediation_tags?: string[];
  [k: string]: unknown;
}

export interface Tradeoff {
  metric: string;
  effect: number;
  interval?: Interval | null;
  unit?: string | null;
  good?: string | null;
  label?: string | null;
}

/** A recommendation as the recommendations stage writes it; every field but a title is optional. */
export interface Recommendation {
  id?: string;
  action?: string;
  title?: string;
  summary?: string;
  description?: string;
  rationale?: string;
  cause?: string | null;
  scope?: (string | SliceShare)[] | string;
  metric?: string;
  expected_effect?: number | null;
  effect?: number | null;
  interval?: Interval | null;
  unit?: string | null;
  tradeoffs?: Tradeoff[] | Record<string, unknown>;
  parameters?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface ExperimentPlan {
  title?: string;
  hypothesis?: string;
  primary_metric?: string;
  randomization_unit?: string;
  arms?: unknown[];
  mde?: number | null;
  alpha?: number | null;
  power?: number | null;
  sample_size_per_arm?: number | null;
  duration_days?: number | null;
  guardrails?: unknown[];
  rollout?: unknown[];
  checklist?: unknown[];
  summary?: string;
  [k: string]: unknown;
}

export interface Feedback {
  id: number;
  incident_id: number;
  label: FeedbackLabel;
  comment: string;
  actor: string;
  created_at: string;
}

export interface IncidentPublic {
  id: number;
  workspace_id: number;
  metric: string;
  slice: string;
  direction: string;
  start: string;
  end: string;
  baseline: number | null;
  current: number | null;
  relative_change: number | null;
  severity: Severity;
  status: IncidentStatus;
  owner: string | null;
  top_cause: string | null;
  top_confidence: number | null;
  first_seen_at: string;
  last_seen_at: string;
  seen_count: number;
}

export interface IncidentDetail extends IncidentPublic {
  external_id: string | null;
  notes: string;
  run_id: number | null;
  dedup_key: string;
  slices: SliceShare[];
  causes: Cause[];
  recommendations: Recommendation[];
  experiment_plan: ExperimentPlan | null;
  feedback: Feedback[];
  extra: Record<string, unknown>;
}

export interface IncidentSummary {
  count: number;
  by_status: Record<string, number>;
  by_severity: Record<string, number>;
  by_metric: Record<string, number>;
}

export interface IncidentFilters {
  workspace_id?: number;
  metric?: string;
  status?: string;
  severity?: string;
  since?: string;
  until?: string;
  limit?: number;
  offset?: number;
}

export interface WhatIfRequest {
  action?: string | null;
  params: Record<string, unknown>;
}

export type WhatIfResult = Record<string, unknown>;

export interface Action {
  id: number;
  incident_id: number;
  key: string;
  title: string;
  description: string;
  source: "recommendation" | "job" | "manual";
  payload: Record<string, unknown>;
  status: ActionStatus;
  proposed_by: string;
  created_at: string;
  decided_by: string | null;
  decided_at: string | null;
  decision_comment: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  actor_role: string;
  action: string;
  entity_type: string;
  entity_id: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}
