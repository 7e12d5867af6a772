// The incident's metric for one slice: observed values, the baseline band (mean ± 2 sd of the baseline
// window), the change point at the window's start, and change events.
import { useMemo } from "react";
import { useChanges, useSeries } from "../../api/hooks";
import type { IncidentDetail } from "../../api/types";
import { TimeSeriesChart, type LineSpec } from "../charts/TimeSeriesChart";
import { Empty, ErrorState, Loading } from "../States";
import { formatSlice, humanize, type Unit } from "../../lib/format";
import { displayBucket, resample, toChartPoints, withBaselineBand } from "../../lib/series";
import { palette } from "../charts/EChart";

/** Where the baseline window starts: measured in the incident's scope, else the detector's. */
export function baselineStartOf(inc: IncidentDetail): string | null {
  return inc.measured_from ?? inc.regression?.baseline_start ?? null;
}

/** When the metric changed (its change point in the incident's scope), else the window's start. */
export function changePointOf(inc: IncidentDetail): string {
  return inc.onset ?? inc.start;
}

export function MetricPanel({
  inc,
  slice,
  compare,
  unit,
  metric = inc.metric,
  height = 280,
}: {
  inc: IncidentDetail;
  slice: string;
  compare?: string | null;
  unit: Unit;
  /** One of the incident's symptoms (default: its most affected, the incident's metric). */
  metric?: string;
  height?: number;
}) {
  const s = useSeries(inc.workspace_id, metric, slice);
  const c = useSeries(inc.workspace_id, metric, compare ?? "*");
  const changes = useChanges(inc.workspace_id);
  const showCompare = !!compare && compare !== slice;
  const lines = useMemo<LineSpec[]>(() => {
    if (!s.data) return [];
    const bucket = displayBucket(s.data.points, s.data.grain);
    const band = withBaselineBand(toChartPoints(resample(s.data.points, bucket)), inc.start, inc.end, baselineStartOf(inc));
    const out: LineSpec[] = [{ name: formatSlice(slice), points: band.points, color: palette.primary }];
    if (showCompare && c.data) out.push({ name: formatSlice(compare), points: toChartPoints(resample(c.data.points, bucket)), color: palette.control });
    return out;
  }, [s.data, c.data, inc, slice, compare, showCompare]);
  const events = useMemo(() => {
    const all = changes.data?.data ?? [];
    // Only the change events near the incident: from a week before its start to its end.
    const lo = new Date(inc.start).getTime() - 7 * 86400e3;
    const hi = new Date(inc.end).getTime();
    return all.filter((e) => {
      const t = new Date(e.ts).getTime();
      return t >= lo && t <= hi;
    });
  }, [changes.data, inc.start, inc.end]);

  const highlight = useMemo(() => inc.causes.map((c) => c.change_event).filter((e): e is string => !!e).slice(0, 1), [inc.causes]);
  if (s.isPending) return <Loading height={height} />;
  if (s.isError) return <ErrorState error={s.error} retry={() => void s.refetch()} />;
  if (!s.data.points.length) return <Empty title="No data for this slice" />;
  return (
    <TimeSeriesChart
      lines={lines}
      unit={unit}
      changePoint={changePointOf(inc)}
      incidents={[{ id: inc.id, start: inc.start, end: inc.end, label: "regression window", severity: inc.severity }]}
      events={events}
      highlightEvents={highlight}
      height={height}
      label={`${humanize(metric)} for ${formatSlice(slice)} with baseline band and change point`}
      testId="incident-chart"
    />
  );
}
