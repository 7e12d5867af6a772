// Series helpers: chart points from the API's series, the baseline band of a regression window, and
// windowed means for the headline numbers.
import type { MetricInfo, SeriesPoint } from "../api/types";
import type { Unit } from "./format";

export interface ChartPoint {
  t: string;
  value: number | null;
  baseline?: number | null;
  lower?: number | null;
  upper?: number | null;
}

export function toChartPoints(points: SeriesPoint[]): ChartPoint[] {
  return points.map((p) => ({ t: p.ts, value: p.value }));
}

/**
 * Points pooled into buckets of `hours` (value = Σ value·w / Σ w, w the denominator), so a month of
 * hourly data reads as a trend rather than noise. Returns the points unchanged for hours <= 1.
 */
export function resample(points: SeriesPoint[], hours: number): SeriesPoint[] {
  if (hours <= 1) return points;
  const size = hours * 3600e3;
  const acc = new Map<number, { num: number; den: number; n: number }>();
  for (const p of points) {
    if (p.value == null) continue;
    const b = Math.floor(new Date(p.ts).getTime() / size) * size;
    const w = p.denominator && p.denominator > 0 ? p.denominator : 1;
    const a = acc.get(b) ?? { num: 0, den: 0, n: 0 };
    a.num += p.value * w;
    a.den += w;
    a.n += p.n ?? 0;
    acc.set(b, a);
  }
  return [...acc.entries()]
    .sort((x, y) => x[0] - y[0])
    .map(([b, a]) => ({ ts: new Date(b).toISOString(), value: a.num / a.den, low: null, high: null, numerator: a.num, denominator: a.den, n: a.n }));
}

/** The bucket (hours) to draw a series in: hourly data over more than ten days in 6-hour buckets. */
export function displayBucket(points: SeriesPoint[], grain: string | undefined): number {
  if (grain !== "hour" || points.length < 240) return 1;
  return 6;
}

const ms = (t: string) => new Date(t).getTime();

/**
 * The baseline band: mean ± z·sd of the values in the baseline window [baselineStart, start), drawn
 * over the whole series. With no baseline window given, the same length before `start` is used.
 */
export function withBaselineBand(
  points: ChartPoint[],
  start: string,
  end: string,
  baselineStart?: string | null,
  z = 2,
): { points: ChartPoint[]; mean: number | null; sd: number | null } {
  const s = ms(start);
  const b0 = baselineStart ? ms(baselineStart) : s - Math.max(ms(end) - s, 7 * 86400e3);
  const base = points.filter((p) => p.value != null && ms(p.t) >= b0 && ms(p.t) < s).map((p) => p.value as number);
  if (base.length < 2) return { points, mean: null, sd: null };
  const mean = base.reduce((a, b) => a + b, 0) / base.length;
  const sd = Math.sqrt(base.reduce((a, b) => a + (b - mean) ** 2, 0) / (base.length - 1));
  return {
    mean,
    sd,
    points: points.map((p) => ({ ...p, baseline: mean, lower: mean - z * sd, upper: mean + z * sd })),
  };
}

/** Mean of the values in [from, to), weighted by the denominators when the series has them. */
export function windowMean(points: SeriesPoint[], from: number, to: number): number | null {
  let num = 0;
  let den = 0;
  for (const p of points) {
    const t = ms(p.ts);
    if (t < from || t >= to || p.value == null) continue;
    const w = p.denominator && p.denominator > 0 ? p.denominator : 1;
    num += p.value * w;
    den += w;
  }
  return den > 0 ? num / den : null;
}

/** Last 24 hours against the 7 days before them. */
export function headline(points: SeriesPoint[]): { current: number | null; previous: number | null; change: number | null } {
  if (!points.length) return { current: null, previous: null, change: null };
  const last = Math.max(...points.map((p) => ms(p.ts)));
  const day = 86400e3;
  const current = windowMean(points, last - day + 1, last + 1);
  const previous = windowMean(points, last - 8 * day + 1, last - day + 1);
  return { current, previous, change: current != null && previous != null ? current - previous : null };
}

/** How to format a metric's values, from its type and unit in the workspace. */
export function unitOf(metric: (Pick<MetricInfo, "type" | "unit"> & { name?: string }) | undefined): Unit {
  if (!metric) return "ratio";
  const u = (metric.unit ?? "").toLowerCase();
  const t = (metric.type ?? "").toLowerCase();
  // "pts": a composite of rates on its rates' 0–100 scale, moving in points (the API and the engine say so)
  if (u === "pts") return t === "rate" ? "rate" : "pts";
  // a workspace may leave units out: a metric named in minutes is in minutes
  if (!u && /(^|_)minutes(_|$)/.test(metric.name ?? "")) return "minutes";
  if (u === "%" || u === "percent") return "percent";
  if (u.startsWith("min")) return "minutes";
  if (u === "usd" || u === "$" || u === "currency") return "currency";
  if (u === "count" || t === "count" || t === "sum") return "count";
  if (t === "rate" || u === "fraction" || u === "rate" || u === "share") return "rate";
  if (t === "composite" || u === "score" || u === "points") return "score";
  return "ratio";
}

/** Is a change in this direction bad for the metric? (`good` is "up" or "down".) */
export function isBad(direction: string | undefined, good: string | undefined): boolean {
  if (!direction || !good) return true;
  return (direction === "down") === (good === "up");
}
