// The incident payload as the real backend serves it after `cxw analyze` (src/test/analysis-served.json:
// GET /api/incidents/{id} of the batching demo): `recommendations` a list of the engine's items (action,
// impact, tradeoff), `experiment_plan` beside it, `pm_summary`/`pm_table`/`recommendation_notes` in `extra`,
// `recommendation_status` and `next_steps` as fields; the cause's symptoms and the candidates it ruled out.
import { describe, expect, test } from "vitest";
import served from "../test/analysis-served.json";
import { incidentDetail } from "../test/fixtures";
import { normalizeEvidence, normalizeIncident } from "./normalize";
import type { IncidentDetail } from "./types";

const owner = served.owner as unknown as IncidentDetail;

describe("normalizeIncident on the served analysis output", () => {
  const inc = normalizeIncident(owner);

  test("evidence keeps effect, interval and p-value, with its details under `detail`", () => {
    const did = inc.causes[0].evidence.did;
    expect(did.effect).toBeCloseTo(-0.0412, 4);
    expect(did.interval?.low).toBeCloseTo(-0.0452, 4);
    expect(did.detail?.treated_units).toBe(122);
    expect(inc.causes[0].evidence.timing.detail?.change_point).toBe("2026-01-15T12:00:00");
    expect(Array.isArray(inc.causes[0].evidence.shap.detail?.top_inputs)).toBe(true);
    expect(Array.isArray(inc.causes[0].evidence.event_study.detail?.periods)).toBe(true);
    expect(inc.causes[0].scope).toEqual(["region=east", "region=west"]);
  });

  test("the list of engine items becomes flat recommendations with effect, interval, tradeoffs and a what-if", () => {
    expect(inc.recommendations).toHaveLength(1);
    const r = inc.recommendations[0];
    expect(r.title).toBe("Revert batching_threshold from 4 to 2 in region east and west");
    expect(r.id).toBe("revert_policy_threshold");
    // the incident's own metric is the headline effect; every other metric of the impact is a tradeoff
    expect(r.metric).toBe("cx_score");
    expect(r.expected_effect).toBeCloseTo(0.0412, 4);
    expect(r.interval?.low).toBeCloseTo(0.0372, 4);
    expect(r.interval?.high).toBeCloseTo(0.0452, 4);
    const tradeoffs = r.tradeoffs as { metric: string; effect: number }[];
    expect(tradeoffs.map((t) => t.metric)).toContain("courier_minutes_per_order");
    expect(tradeoffs.map((t) => t.metric)).not.toContain("cx_score");
    expect(tradeoffs.find((t) => t.metric === "courier_minutes_per_order")?.effect).toBeCloseTo(3.58, 2);
    expect(r.verdict).toBe("recommended_with_cost");
    expect(r.summary).toContain("courier minutes per order");
    expect(r.parameters).toEqual({ feature: "batching_threshold", op: "set", value: 2, scope: "region=east;region=west" });
  });

  test("the plan, the PM summary and the PM table come from the top level and `extra`", () => {
    expect(inc.experiment_plan?.primary_metric).toBe("on_time_rate");
    expect(inc.experiment_plan?.randomization_unit).toBe("region × 1-hour switchback");
    expect(inc.experiment_plan?.duration_days).toBe(7);
    expect(inc.experiment_plan?.scope).toEqual(["region=east", "region=west"]);
    expect(inc.pm_summary).toMatch(/^Cx score fell from 94\.4 to 90\.2 in region east and west starting Jan 15 12:00 \(the same cause moved on time rate, avg delivery minutes too\)/);
    expect(inc.pm_table?.[0]).toEqual(["Metric", "Now", "Expected change", "Likely range", "Per day", "Effect"]);
    expect(inc.recommendation_status).toBe("recommended");
    expect(inc.next_steps).toEqual([]);
  });
});

describe("one incident per cause", () => {
  test("the metrics the batching change moved are its symptoms, measured in its scope, most affected first", () => {
    const inc = normalizeIncident(owner);
    expect(inc.symptoms?.map((s) => s.metric)).toEqual(["cx_score", "on_time_rate", "avg_delivery_minutes"]);
    expect(inc.symptom_metrics).toEqual(inc.symptoms?.map((s) => s.metric));
    expect(inc.cause_key).toBe("change:batching_threshold_4");
    expect(inc.measured_in).toEqual(["region=east", "region=west"]);
    const errors = inc.symptoms!.map((s) => s.standard_errors ?? 0);
    expect([...errors].sort((a, b) => b - a)).toEqual(errors);
    expect(inc.symptoms![0].baseline).toBe(inc.baseline); // the incident's figures are its lead symptom's
    // the experiment reads the most affected symptom a record can be judged on; every other is a guardrail
    expect(inc.experiment_plan?.primary_metric).toBe("on_time_rate");
    expect(inc.rejected?.length).toBe(9);
    expect(inc.rejected?.every((r) => r.reason.includes("? no →") || r.ruled_out_by === "confidence")).toBe(true);
    expect(inc.extra).not.toHaveProperty("symptoms");
  });
});

describe("recommendation status and next steps", () => {
  const inconclusive = { ...owner, recommendations: [], experiment_plan: null, recommendation_status: "inconclusive" } as IncidentDetail;

  test("an inconclusive incident keeps its checks; malformed ones are dropped", () => {
    const steps = [{ check: "Check the candidate cause.", decides: "the metric by hour" }, { check: "no decides" }, "text", null];
    const inc = normalizeIncident({ ...inconclusive, next_steps: steps as IncidentDetail["next_steps"] });
    expect(inc.recommendation_status).toBe("inconclusive");
    expect(inc.next_steps).toEqual([steps[0]]);
    expect(inc.recommendations).toEqual([]);
  });

  test("missing or unknown values read as no status and no steps", () => {
    const inc = normalizeIncident({ ...inconclusive, recommendation_status: "maybe" as never, next_steps: undefined as never });
    expect(inc.recommendation_status).toBeNull();
    expect(inc.next_steps).toEqual([]);
  });
});

describe("normalizeIncident on the flat form", () => {
  test("leaves a flat payload as it is", () => {
    const inc = normalizeIncident(incidentDetail);
    expect(inc.recommendations[0].expected_effect).toBe(0.051);
    expect(inc.recommendations[0].parameters).toEqual({ batching_threshold: 2, share_of_stores: 1 });
    expect(inc.causes[0].evidence.did.detail?.z).toBe(-10);
    expect(inc.pm_summary).toBeNull();
  });

  test("evidence with no object at all is an empty, untested entry", () => {
    expect(normalizeEvidence(null, "did")).toMatchObject({ test: "did", effect: null, supports: null, detail: {} });
  });
});
