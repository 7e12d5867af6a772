// Treated vs control series for a cause's scope, from the workspace's series: treated = the scope's
// slices pooled, control = the other values of the same dimension pooled (at most 12), both by day and
// weighted by the metric's denominators. Only for scopes made of one dimension's values.
import { useMemo } from "react";
import { useQueries } from "@tanstack/react-query";
import { seriesQuery, useDimensions, useIncidentSlices } from "../api/hooks";
import type { IncidentDetail, SeriesPoint } from "../api/types";
import type { ChartPoint } from "./series";
import { sliceFilters, slicePairs } from "./slices";

const DAY = 86400e3;

/** Pool several series into one by day: Σ value·w / Σ w with w the denominator (or 1). */
export function poolDaily(seriesList: SeriesPoint[][]): ChartPoint[] {
  const acc = new Map<number, { num: number; den: number }>();
  for (const points of seriesList) {
    for (const p of points) {
      if (p.value == null) continue;
      const day = Math.floor(new Date(p.ts).getTime() / DAY) * DAY;
      const w = p.denominator && p.denominator > 0 ? p.denominator : 1;
      const a = acc.get(day) ?? { num: 0, den: 0 };
      a.num += p.value * w;
      a.den += w;
      acc.set(day, a);
    }
  }
  return [...acc.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([day, a]) => ({ t: new Date(day + DAY / 2).toISOString(), value: a.den > 0 ? a.num / a.den : null }));
}

/** The dimension a scope varies, when every slice in it is `dim=value` of one dimension. */
export function scopeDimension(scope: string[]): string | null {
  if (!scope.length) return null;
  const dims = new Set<string>();
  for (const key of scope) {
    const f = sliceFilters(key);
    if (f.length !== 1) return null;
    dims.add(f[0][0]);
  }
  return dims.size === 1 ? [...dims][0] : null;
}

export function useTreatedControl(inc: IncidentDetail, scope: string[]) {
  const dim = scopeDimension(scope);
  const top = useIncidentSlices(inc, "*");
  const dimensions = useDimensions(inc.workspace_id);
  const controls = useMemo(() => {
    if (!dim || !top.data) return [];
    const inScope = new Set(scope);
    return top.data.data
      .filter((c) => {
        const f = slicePairs(c.slice, dimensions ?? []);
        return f.length === 1 && f[0][0] === dim && !inScope.has(c.slice);
      })
      .sort((a, b) => b.current_n - a.current_n)
      .slice(0, 12)
      .map((c) => c.slice);
  }, [dim, top.data, scope, dimensions]);
  const keys = dim ? [...scope, ...controls] : [];
  const results = useQueries({
    queries: keys.map((k) => seriesQuery(inc.workspace_id, inc.metric, k, dimensions)),
  });
  const pending = !!dim && (top.isPending || results.some((r) => r.isPending));
  const error = top.error ?? results.find((r) => r.error)?.error ?? null;
  const data = useMemo(() => {
    if (!dim || pending || error || !controls.length) return null;
    const byKey = new Map(keys.map((k, i) => [k, results[i].data?.points ?? []]));
    return {
      dimension: dim,
      controls,
      treated: poolDaily(scope.map((k) => byKey.get(k) ?? [])),
      control: poolDaily(controls.map((k) => byKey.get(k) ?? [])),
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [dim, pending, error, controls, results.map((r) => r.dataUpdatedAt).join(",")]);
  return { applicable: !!dim, pending, error, data };
}
