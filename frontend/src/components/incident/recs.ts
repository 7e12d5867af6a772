// Reading a recommendation's fields whatever their exact names (the recommendations stage owns them).
import type { Interval, Recommendation, Tradeoff } from "../../api/types";
import { humanize } from "../../lib/format";

export function recTitle(r: Recommendation, i: number): string {
  return String(r.title ?? r.summary ?? (r.action ? humanize(r.action) : null) ?? `Recommendation ${i + 1}`);
}

export function recText(r: Recommendation): string | undefined {
  const t = r.description ?? r.rationale;
  return t ? String(t) : undefined;
}

export function recEffect(r: Recommendation): { effect: number | null; interval: Interval | null; metric?: string } {
  const e = r.expected_effect ?? r.effect;
  if (typeof e === "number") return { effect: e, interval: (r.interval as Interval) ?? null, metric: r.metric };
  if (e && typeof e === "object") {
    const o = e as { value?: number; effect?: number; interval?: Interval; metric?: string; low?: number; high?: number };
    const v = o.value ?? o.effect ?? null;
    const iv = o.interval ?? (o.low != null && o.high != null ? { low: o.low, high: o.high } : null);
    return { effect: v, interval: iv ?? (r.interval as Interval) ?? null, metric: o.metric ?? r.metric };
  }
  return { effect: null, interval: (r.interval as Interval) ?? null, metric: r.metric };
}

/** Tradeoffs as a list, whether given as a list or as {metric: effect | {effect, interval}}. */
export function recTradeoffs(r: Recommendation): Tradeoff[] {
  const t = r.tradeoffs;
  if (Array.isArray(t)) return t.filter((x) => x && typeof x === "object" && "metric" in x);
  if (t && typeof t === "object") {
    return Object.entries(t).flatMap(([metric, v]) => {
      if (typeof v === "number") return [{ metric, effect: v }];
      if (v && typeof v === "object") {
        const o = v as { effect?: number; value?: number; interval?: Interval; unit?: string; good?: string };
        const effect = o.effect ?? o.value;
        return typeof effect === "number" ? [{ metric, effect, interval: o.interval ?? null, unit: o.unit, good: o.good }] : [];
      }
      return [];
    });
  }
  return [];
}

/** Numeric and boolean parameters a what-if can vary. */
export function recParameters(r: Recommendation): [string, number | string | boolean][] {
  const p = r.parameters ?? (r.params as Record<string, unknown> | undefined);
  if (!p || typeof p !== "object") return [];
  return Object.entries(p).filter((e): e is [string, number | string | boolean] => ["number", "string", "boolean"].includes(typeof e[1]));
}

export function recActionId(r: Recommendation, i: number): string {
  return String(r.id ?? r.action ?? `recommendation-${i}`);
}
