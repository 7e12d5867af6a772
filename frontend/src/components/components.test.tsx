import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { SliceTable } from "./SliceTable";
import { heatmapData } from "./charts/SliceHeatmap";
import { eventStudyPeriods, shapRows } from "./charts/EvidenceCharts";
import { buildTimeSeriesOption } from "./charts/TimeSeriesChart";
import { causeScope, effectFormatter, orderedEvidence } from "./incident/Causes";
import { primaryImpact, sideImpacts, whatIfDefaults } from "./incident/recs";
import { planFacts } from "./incident/PlanPanel";
import { evidenceOf } from "../api/types";
import { incidentDetail } from "../test/fixtures";

const rows = [
  { key: "region=east", share: 0.6, baseline: 0.913, current: 0.818, change: -0.095, support: 18000 },
  { key: "region=west", share: 0.41, baseline: 0.9, current: 0.823, change: -0.077, support: 16000 },
  { key: "region=north", share: -0.02, baseline: 0.91, current: 0.912, change: 0.002, support: 14000 },
  { key: "category=grocery", share: 0.14, baseline: 0.92, current: 0.9, change: -0.02, support: 10000 },
];

describe("SliceTable", () => {
  // jsdom lays nothing out: give the scroll container a size so the virtualizer has a window to fill
  beforeAll(() => {
    Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 360 });
    Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 800 });
  });
  afterAll(() => {
    delete (HTMLElement.prototype as unknown as Record<string, unknown>).clientHeight;
    delete (HTMLElement.prototype as unknown as Record<string, unknown>).clientWidth;
  });

  test("sorts by share of the change, toggles on header click, selects on click and Enter", async () => {
    const onSelect = vi.fn();
    render(<SliceTable rows={rows} unit="rate" onSelect={onSelect} />);
    const table = screen.getByRole("table", { name: "Slices by contribution" });
    const slicesInOrder = () => within(table).getAllByRole("row").slice(1).map((r) => r.getAttribute("data-slice"));
    expect(slicesInOrder()).toEqual(["region=east", "region=west", "category=grocery", "region=north"]);
    expect(within(table).getByText("−9.50 pp")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Sort by Share of change" }));
    expect(slicesInOrder()).toEqual(["region=north", "category=grocery", "region=west", "region=east"]);
    await userEvent.click(within(table).getByText("region = west"));
    expect(onSelect).toHaveBeenLastCalledWith("region=west");
    within(table).getAllByRole("row")[1].focus();
    await userEvent.keyboard("{Enter}");
    expect(onSelect).toHaveBeenLastCalledWith("region=north");
  });

  test("renders only a window of a long list (virtual scrolling)", () => {
    const many = Array.from({ length: 5000 }, (_, i) => ({ key: `store_id=s${i}`, share: 1 / (i + 1) }));
    render(<SliceTable rows={many} height={360} />);
    const rendered = screen.getAllByRole("row").filter((r) => r.hasAttribute("data-slice")).length;
    expect(rendered).toBeGreaterThan(5);
    expect(rendered).toBeLessThan(60);
    expect(screen.getByRole("table")).toHaveAttribute("aria-rowcount", "5001");
  });
});

describe("chart data", () => {
  test("heatmap: one row per dimension, values ranked by share", () => {
    const d = heatmapData(rows, "*");
    expect(d.dims).toEqual(["region", "category"]);
    expect(d.cells.filter((c) => c.y === 0).map((c) => c.value)).toEqual(["east", "west", "north"]);
    expect(d.max).toBeCloseTo(0.6);
    const child = heatmapData([{ key: "category=grocery&region=east", share: 0.3 }, { key: "region=east", share: 1 }], "region=east");
    expect(child.dims).toEqual(["category"]);
    expect(child.cells[0].key).toBe("category=grocery&region=east");
    // values holding "&" or "=", split with the workspace's dimensions
    const odd = heatmapData([{ key: "category=fish & chips&region=a=b", share: 0.3 }, { key: "region=a=b", share: 1 }], "region=a=b", 6, ["category", "region"]);
    expect(odd.dims).toEqual(["category"]);
    expect(odd.cells.map((c) => c.value)).toEqual(["fish & chips"]);
  });

  test("time series: band, change point, incident windows and labelled cause events", () => {
    const opt = buildTimeSeriesOption({
      lines: [{ name: "All", points: [{ t: "2026-01-01T00:00:00Z", value: 0.9, baseline: 0.9, lower: 0.88, upper: 0.92 }] }],
      unit: "rate",
      changePoint: "2026-01-15T12:00:00",
      incidents: [{ id: 7, start: "2026-01-15T12:00:00", end: "2026-01-29T00:00:00", label: "#7", severity: "high" }],
      events: [{ ts: "2026-01-15T12:00:00", name: "batching_threshold_4", kind: "policy", scope: "*", description: "" }, { ts: "2026-01-10T00:00:00", name: "web_release", kind: "release", scope: "*", description: "" }],
      highlightEvents: ["batching_threshold_4"],
    }) as { series: { name: string; markLine?: { data: { name?: string; label: { show?: boolean } }[] }; markArea?: { data: unknown[] } }[] };
    expect(opt.series.map((s) => s.name)).toEqual(["band-lower", "Expected range", "Baseline", "All"]);
    const main = opt.series[3];
    expect(main.markArea?.data).toHaveLength(1);
    const marks = main.markLine!.data;
    expect(marks.map((m) => m.name)).toEqual(["change point", "batching_threshold_4", "web_release"]);
    expect(marks[1].label.show).toBe(true);
    expect(marks[2].label.show).toBe(false);
  });

  test("evidence details: SHAP inputs, event-study periods", () => {
    const [top, other] = incidentDetail.causes;
    const shap = shapRows(evidenceOf(top, "shap")!);
    expect(shap.map((r) => r.feature)).toEqual(["batching_threshold", "courier_supply_ratio", "prep_minutes"]);
    expect(shap[0]).toEqual({ feature: "batching_threshold", shift: -0.061 });
    expect(eventStudyPeriods(evidenceOf(top, "event_study")!).map((p) => p.k)).toEqual([-2, -1, 0, 1]);
    expect(evidenceOf(other, "event_study")).toBeUndefined();
    expect(evidenceOf(top, "scope")).toBeUndefined();
  });
});

describe("cause and recommendation helpers", () => {
  test("evidence order: estimates, attribution, timing, then refutations", () => {
    expect(orderedEvidence(incidentDetail.causes[0].evidence).map(([k]) => k)).toEqual(["did", "event_study", "shap", "timing", "placebo_scope"]);
  });
  test("effects print in each test's unit", () => {
    expect(effectFormatter("did", "rate")(-0.0877)).toBe("−8.77 pp");
    expect(effectFormatter("timing", "rate")(-1.5)).toBe("−1.5 h");
    expect(effectFormatter("shap", "rate")(0.71)).toBe("71.0%");
    // a placebo's effect is the real DiD effect in the metric's units, its interval the placebos' range
    expect(effectFormatter("placebo_scope", "rate")(-0.0877)).toBe("−8.77 pp");
  });
  test("a cause's scope: its slices, none when it reaches everything", () => {
    expect(causeScope(incidentDetail.causes[0])).toEqual(["region=east", "region=west"]);
    expect(incidentDetail.causes[1].scope).toEqual(["*"]);
    expect(causeScope(incidentDetail.causes[1])).toEqual([]);
  });
  test("a recommendation's effect on its metric, its side effects and the what-if it starts from", () => {
    const r = incidentDetail.recommendations[0];
    const main = primaryImpact(r)!;
    expect([main.metric, main.change, main.interval]).toEqual(["on_time_rate", 0.051, { low: 0.038, high: 0.064, level: 0.95 }]);
    expect(sideImpacts(r).map((m) => [m.metric, m.change])).toEqual([["courier_minutes_per_order", 1.8]]);
    expect(whatIfDefaults(r, "*")).toEqual({ feature: "batching_threshold", op: "set", value: "2", scope: "region=east;region=west" });
    // a roll-back that switched a change event off applied no driver change: its driver, to fill in
    const off = { ...r, impact: { ...r.impact, changes: [] } };
    expect(whatIfDefaults(off, "*")).toEqual({ feature: "batching_threshold", op: "set", value: "", scope: "region=east;region=west" });
    expect(whatIfDefaults(undefined, "region=north")).toEqual({ feature: "", op: "set", value: "", scope: "region=north" });
  });
  test("plan facts in words", () => {
    const facts = Object.fromEntries(planFacts(incidentDetail.experiment_plan!));
    expect(facts["Randomization unit"]).toBe("Store ID");
    expect(facts["Primary metric"]).toBe("On time rate");
    expect(facts["Sample size per arm"]).toBe("48,000");
    expect(facts["Duration"]).toBe("14 days");
    expect(facts["Power"]).toBe("80%");
  });
});
