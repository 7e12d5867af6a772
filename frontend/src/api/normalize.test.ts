// The incident payload as `cxw analyze` writes it (src/test/analysis-incident.json: one incident of the
// batching-policy demo, trimmed), passed through the backend's detail view, normalized for the pages.
import { describe, expect, test } from "vitest";
import analysis from "../test/analysis-incident.json";
import { incidentDetail } from "../test/fixtures";
import { normalizeEvidence, normalizeIncident } from "./normalize";
import type { IncidentDetail } from "./types";

const PAYLOAD = new Set(["slices", "causes", "recommendations", "experiment_plan"]);

/** What GET /api/incidents/{id} returns for an analysis entry: payload keys as is, the rest in `extra`. */
function asServed(entry: Record<string, unknown>): IncidentDetail {
  const extra = Object.fromEntries(Object.entries(entry).filter(([k]) => !PAYLOAD.has(k)));
  return {
    ...incidentDetail,
    metric: entry.metric as string,
    slices: entry.slices as IncidentDetail["slices"],
    causes: entry.causes as IncidentDetail["causes"],
    recommendations: entry.recommendations as IncidentDetail["recommendations"],
    experiment_plan: (entry.experiment_plan as IncidentDetail["experiment_plan"]) ?? null,
    extra,
  };
}

describe("normalizeIncident on the analysis output", () => {
  const inc = normalizeIncident(asServed(analysis as Record<string, unknown>));

  test("flattened evidence gets its details back under `detail`", () => {
    const timing = inc.causes[0].evidence.timing;
    expect(timing.effect).toBe(0);
    expect(timing.supports).toBe(true);
    expect(timing.detail?.change_point).toBe("2026-01-15T12:00:00");
    expect(timing.detail?.candidate_time).toBe("2026-01-15T12:00:00");
    const did = inc.causes[0].evidence.did;
    expect(did.effect).toBeCloseTo(-0.0883, 4);
    expect(did.interval?.low).toBeCloseTo(-0.0974, 4);
    expect(did.detail?.treated_units).toBe(122);
    expect(Array.isArray(inc.causes[0].evidence.event_study.detail?.periods)).toBe(true);
    expect(inc.causes[0].scope).toEqual(["region=east", "region=west"]);
  });

  test("the recommendation set becomes a list with effect, interval, tradeoffs and a what-if", () => {
    expect(inc.recommendations).toHaveLength(2);
    const r = inc.recommendations[0];
    expect(r.title).toBe("Revert batching_threshold from 4 to 2 in region east and west");
    expect(r.id).toBe("revert_policy_threshold");
    expect(r.metric).toBe("on_time_rate");
    expect(r.expected_effect).toBeCloseTo(0.0883, 4);
    expect(r.interval?.low).toBeCloseTo(0.0793, 4);
    expect((r.tradeoffs as { metric: string }[]).map((t) => t.metric)).toEqual(["item_accuracy", "cancellation_rate", "courier_minutes_per_order"]);
    expect(r.verdict).toBe("recommended_with_cost");
    expect(r.summary).toContain("courier minutes per order");
    expect(r.parameters).toEqual({ feature: "batching_threshold", op: "set", value: 2, scope: "region=east;region=west" });
  });

  test("the plan, the PM summary and the PM table come up from the set", () => {
    expect(inc.experiment_plan?.primary_metric).toBe("on_time_rate");
    expect(inc.experiment_plan?.randomization_unit).toBe("region × 1-hour switchback");
    expect(inc.experiment_plan?.duration_days).toBe(7);
    expect(inc.pm_summary).toMatch(/^On time rate fell from 91\.6% to 81\.9%/);
    expect(inc.pm_table?.[0]).toEqual(["Metric", "Now", "Expected change", "Likely range", "Per day", "Effect"]);
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
