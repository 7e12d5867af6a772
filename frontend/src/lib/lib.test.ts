import { describe, expect, test } from "vitest";
import { formatCause, formatChange, formatInterval, formatPValue, formatPct, formatSlice, formatValue, humanize } from "./format";
import { keyOf, sliceFilters, sliceKey, slicePairs, sliceParam } from "./slices";
import { displayBucket, headline, isBad, resample, unitOf, withBaselineBand } from "./series";
import { poolDaily, scopeDimension } from "./treatedControl";
import type { SeriesPoint } from "../api/types";
import params from "../test/slice-params.json";

const pt = (ts: string, value: number | null, denominator = 1): SeriesPoint => ({ ts, value, low: null, high: null, numerator: 0, denominator, n: denominator });

describe("format", () => {
  test("values carry their unit", () => {
    expect(formatValue(0.8812, "rate")).toBe("88.1%");
    expect(formatValue(31.25, "minutes")).toBe("31.3 min");
    expect(formatValue(12345, "count")).toBe("12,345");
    expect(formatValue(0.9471, "score")).toBe("0.947");
    expect(formatValue(0.9451, "pts")).toBe("94.5");
    expect(formatValue(null, "rate")).toBe("—");
  });
  test("changes are signed, rates in percentage points", () => {
    expect(formatChange(-0.0877, "rate")).toBe("−8.77 pp");
    expect(formatChange(1.8, "minutes")).toBe("+1.8 min");
    expect(formatChange(0, "rate")).toBe("±0.00 pp");
    expect(formatChange(0.04122, "pts")).toBe("+4.12 pts");
    expect(formatPct(-0.0318)).toBe("−3.2%");
    expect(formatPct(0.5, 0, false)).toBe("50%");
  });
  test("intervals say their level", () => {
    expect(formatInterval({ low: -0.1, high: -0.07 }, (v) => formatChange(v, "rate"))).toBe("95% CI [−10.00 pp, −7.00 pp]");
    expect(formatInterval({ low: 1, high: 2, level: 0.9 }, String)).toBe("90% CI [1, 2]");
    expect(formatInterval(null)).toBe("");
  });
  test("p-values, slices and identifiers read as words", () => {
    expect(formatPValue(0.0001)).toBe("p < 0.001");
    expect(formatPValue(0.042)).toBe("p = 0.04");
    expect(formatSlice("*")).toBe("All traffic");
    expect(formatSlice("category=grocery&region=east")).toBe("category = grocery · region = east");
    expect(humanize("cx_score")).toBe("CX score");
    expect(humanize("false_alarm")).toBe("False alarm");
    expect(formatCause("policy_change: batching_threshold_4")).toBe("Policy change: batching_threshold_4");
    expect(formatCause("supply")).toBe("Supply");
  });
});

describe("slices", () => {
  test("keys round-trip and sort by dimension", () => {
    expect(sliceFilters("region=east&category=a=b")).toEqual([["region", "east"], ["category", "a=b"]]);
    expect(sliceKey([["region", "east"], ["category", "grocery"]])).toBe("category=grocery&region=east");
    expect(sliceKey([])).toBe("*");
  });
  test("a series request escapes % & = inside dimensions and values, split by the workspace's dimensions", () => {
    expect(slicePairs("brand=fish & chips&region=a=b", params.dimensions)).toEqual([["brand", "fish & chips"], ["region", "a=b"]]);
    // the cases the backend test reads back to their raw keys (tests/backend/test_slice_params.py)
    for (const c of params.cases) expect(sliceParam(c.key, params.dimensions), c.key).toBe(c.param);
    // a dimension that is a prefix of another
    expect(sliceParam("region=e&region_group=a&b", ["region", "region_group"])).toBe("region=e&region_group=a%26b");
    expect(sliceParam("", params.dimensions)).toBe("*");
  });
  test("keyOf accepts strings and objects", () => {
    expect(keyOf("region=east")).toBe("region=east");
    expect(keyOf({ slice: "region=west", share: 0.4 })).toBe("region=west");
    expect(keyOf({ filters: [["region", "east"]] })).toBe("region=east");
    expect(keyOf(null)).toBe("*");
  });
});

describe("series", () => {
  test("resample pools by bucket, weighted by denominators", () => {
    const pts = [pt("2026-01-01T00:00:00Z", 1, 1), pt("2026-01-01T01:00:00Z", 0, 3), pt("2026-01-01T06:00:00Z", 0.5, 2), pt("2026-01-01T07:00:00Z", null)];
    const out = resample(pts, 6);
    expect(out).toHaveLength(2);
    expect(out[0].value).toBeCloseTo(0.25);
    expect(out[0].denominator).toBe(4);
    expect(out[1].value).toBeCloseTo(0.5);
    expect(resample(pts, 1)).toBe(pts);
  });
  test("hourly data over ten days is drawn in 6-hour buckets", () => {
    const many = Array.from({ length: 300 }, (_, i) => pt(new Date(Date.UTC(2026, 0, 1) + i * 3600e3).toISOString(), 1));
    expect(displayBucket(many, "hour")).toBe(6);
    expect(displayBucket(many.slice(0, 100), "hour")).toBe(1);
    expect(displayBucket(many, "day")).toBe(1);
  });
  test("baseline band is mean ± 2 sd of the baseline window", () => {
    const pts = [0.9, 0.92, 0.88, 0.9, 0.7, 0.7].map((v, i) => ({ t: new Date(Date.UTC(2026, 0, 1 + i)).toISOString(), value: v }));
    const out = withBaselineBand(pts, "2026-01-05T00:00:00Z", "2026-01-07T00:00:00Z", "2026-01-01T00:00:00Z");
    expect(out.mean).toBeCloseTo(0.9);
    expect(out.sd).toBeCloseTo(Math.sqrt(0.0008 / 3));
    expect(out.points[5].lower).toBeCloseTo(0.9 - 2 * out.sd!);
    expect(withBaselineBand(pts.slice(4), "2026-01-05T00:00:00Z", "2026-01-07T00:00:00Z").mean).toBeNull();
  });
  test("headline compares the last 24 h with the 7 days before", () => {
    const pts = Array.from({ length: 9 * 24 }, (_, h) => pt(new Date(Date.UTC(2026, 0, 1) + h * 3600e3).toISOString(), h >= 8 * 24 ? 0.8 : 0.9));
    const h = headline(pts);
    expect(h.current).toBeCloseTo(0.8);
    expect(h.previous).toBeCloseTo(0.9);
    expect(h.change).toBeCloseTo(-0.1);
  });
  test("units and which way is bad", () => {
    expect(unitOf({ type: "rate", unit: null })).toBe("rate");
    expect(unitOf({ type: "mean", unit: "minutes" })).toBe("minutes");
    expect(unitOf({ type: "composite", unit: null })).toBe("score");
    expect(unitOf({ type: "composite", unit: "pts" })).toBe("pts"); // a composite of rates, as the API describes it
    expect(unitOf({ type: "rate", unit: "pts" })).toBe("rate"); // the engine's display unit of a rate
    expect(isBad("down", "up")).toBe(true);
    expect(isBad("down", "down")).toBe(false);
  });
  test("treated and control pool by day; scopes of one dimension only", () => {
    const a = [pt("2026-01-01T01:00:00Z", 1, 1), pt("2026-01-02T01:00:00Z", 0, 1)];
    const b = [pt("2026-01-01T02:00:00Z", 0, 3)];
    const out = poolDaily([a, b]);
    expect(out.map((p) => p.value)).toEqual([0.25, 0]);
    expect(scopeDimension(["region=east", "region=west"])).toBe("region");
    expect(scopeDimension(["region=east", "channel=ios"])).toBeNull();
    expect(scopeDimension(["category=grocery&region=east"])).toBeNull();
    expect(scopeDimension([])).toBeNull();
  });
});
