// One shape for the incident payload, whichever way the analysis wrote it. The engine's output is
// free-form JSON in the API: evidence carries its details either under `detail` or flattened beside
// effect/interval/p_value. `cxw analyze` writes `recommendations` as a list of the engine's items (an
// `action`, an `impact` with per-metric changes and intervals, a `tradeoff`) with `experiment_plan` beside
// it and `pm_summary`/`pm_table` among the other keys (served in `extra`), and per incident
// `recommendation_status` (recommended | no_action | inconclusive) with `next_steps` ({check, decides})
// for inconclusive ones, which the API serves as typed fields.
// Older outputs nest it all in one recommendation set ({recommendations, experiment_plan, pm_summary,
// pm_table}); flat hand-written items pass through. Pages read the normalized form only.
import type { Cause, Evidence, ExperimentPlan, IncidentDetail, Interval, NextStep, Recommendation, RecommendationStatus, Tradeoff } from "./types";
import { keyOf } from "../lib/slices";

const STATUSES = new Set<string>(["recommended", "no_action", "inconclusive"]);
const EVIDENCE_KEYS = new Set(["test", "effect", "interval", "p_value", "supports", "rule", "detail"]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const interval = (v: unknown): Interval | null =>
  isObj(v) && typeof v.low === "number" && typeof v.high === "number" ? { low: v.low, high: v.high, level: num(v.level) ?? undefined } : null;

/** An evidence entry with its details under `detail`. */
export function normalizeEvidence(ev: unknown, name: string): Evidence {
  if (!isObj(ev)) return { test: name, effect: null, interval: null, p_value: null, supports: null, detail: {} };
  const detail: Obj = isObj(ev.detail) ? { ...ev.detail } : {};
  for (const [k, v] of Object.entries(ev)) if (!EVIDENCE_KEYS.has(k) && !(k in detail)) detail[k] = v;
  return {
    test: typeof ev.test === "string" ? ev.test : name,
    effect: num(ev.effect),
    interval: interval(ev.interval),
    p_value: num(ev.p_value),
    supports: typeof ev.supports === "boolean" ? ev.supports : null,
    rule: typeof ev.rule === "string" && ev.rule ? ev.rule : null,
    detail,
  };
}

export function normalizeCause(c: Cause): Cause {
  const evidence: Record<string, Evidence> = {};
  for (const [k, v] of Object.entries(isObj(c.evidence) ? c.evidence : {})) evidence[k] = normalizeEvidence(v, k);
  return { ...c, scope: (c.scope ?? []).map(keyOf), evidence };
}

/** A recommendation from the recommendations stage (action + impact + tradeoff) in the flat form. */
export function normalizeRecommendation(r: Recommendation, primary: string): Recommendation {
  const action = isObj(r.action) ? (r.action as Obj) : null;
  const impact = isObj(r.impact) ? (r.impact as Obj) : null;
  const tradeoff = isObj(r.tradeoff) ? (r.tradeoff as Obj) : null;
  if (!action && !impact) return { ...r, scope: Array.isArray(r.scope) ? r.scope.map(keyOf) : r.scope };
  const metrics = Array.isArray(impact?.metrics) ? (impact!.metrics as Obj[]).filter(isObj) : [];
  const main = metrics.find((m) => m.metric === primary) ?? metrics[0];
  const tradeoffs: Tradeoff[] = metrics
    .filter((m) => m !== main && typeof m.metric === "string" && num(m.change) !== null)
    .map((m) => ({ metric: m.metric as string, effect: num(m.change)!, interval: interval(m.interval), good: (m.good as string) ?? null }));
  const scope = Array.isArray(r.scope) ? r.scope.map(keyOf) : [];
  const counterfactual = typeof impact?.counterfactual === "string" ? impact.counterfactual : "";
  const setTo = /^(\w+) set to (-?[\d.]+)$/.exec(counterfactual);
  return {
    ...r,
    id: typeof action?.id === "string" ? action.id : r.id,
    action: typeof action?.id === "string" ? action.id : undefined,
    title: r.title ?? (action?.title as string | undefined),
    description: (r.description as string | undefined) ?? (action?.description as string | undefined),
    metric: (main?.metric as string | undefined) ?? primary,
    expected_effect: num(main?.change),
    interval: interval(main?.interval),
    tradeoffs,
    summary: typeof tradeoff?.summary === "string" ? tradeoff.summary : undefined,
    verdict: typeof tradeoff?.verdict === "string" ? tradeoff.verdict : undefined,
    counterfactual: counterfactual || undefined,
    scope,
    parameters:
      r.parameters ??
      (setTo
        ? { feature: setTo[1], op: "set", value: Number(setTo[2]), scope: scope.join(";") || "*" }
        : typeof r.feature === "string"
          ? { feature: r.feature, op: "set", value: "", scope: scope.join(";") || "*" }
          : undefined),
  };
}

export function normalizePlan(p: unknown): ExperimentPlan | null {
  if (!isObj(p)) return null;
  const plan = { ...p } as ExperimentPlan;
  plan.randomization_unit ??= (p.unit_label as string | undefined) ?? (p.unit as string | undefined);
  plan.sample_size_per_arm ??= num(p.planned_orders_per_arm) ?? num(p.n_per_arm);
  plan.duration_days ??= num(p.planned_days) ?? num(p.days_needed);
  if (Array.isArray(p.scope)) plan.scope = p.scope.map(keyOf);
  return plan;
}

/** The incident detail with causes, evidence, recommendations and plan in the normalized form. */
export function normalizeIncident(raw: IncidentDetail): IncidentDetail {
  const recsRaw = raw.recommendations as unknown;
  const set = isObj(recsRaw) ? recsRaw : isObj(raw.extra?.recommendations) ? (raw.extra.recommendations as Obj) : null;
  const list = Array.isArray(recsRaw) ? (recsRaw as Recommendation[]) : Array.isArray(set?.recommendations) ? (set!.recommendations as Recommendation[]) : [];
  const pmSummary = set?.pm_summary ?? raw.extra?.pm_summary;
  const pmTable = set?.pm_table ?? raw.extra?.pm_table;
  return {
    ...raw,
    slices: (raw.slices ?? []).map((s) => (isObj(s) ? { ...s, slice: keyOf(s) } : { slice: keyOf(s) })),
    causes: (raw.causes ?? []).map(normalizeCause),
    recommendations: list.filter(isObj).map((r) => normalizeRecommendation(r, raw.metric)),
    experiment_plan: normalizePlan(raw.experiment_plan ?? set?.experiment_plan),
    pm_summary: typeof pmSummary === "string" ? pmSummary : null,
    pm_table: Array.isArray(pmTable) && pmTable.every(Array.isArray) ? (pmTable as string[][]) : null,
    recommendation_status: STATUSES.has(raw.recommendation_status as string) ? (raw.recommendation_status as RecommendationStatus) : null,
    next_steps: (Array.isArray(raw.next_steps) ? raw.next_steps : []).filter(
      (s): s is NextStep => isObj(s) && typeof s.check === "string" && typeof s.decides === "string",
    ),
  };
}
