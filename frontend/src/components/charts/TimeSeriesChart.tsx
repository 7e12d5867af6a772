// A metric over time: the observed line, the baseline with its band, the change point, incident windows
// shaded on the time axis and change events as labelled vertical lines.
import { useMemo } from "react";
import type { ChangeEvent } from "../../api/types";
import type { ChartPoint } from "../../lib/series";
import { formatValue, type Unit } from "../../lib/format";
import { EChart, baseAxis, palette, type EChartClick, type EChartOption } from "./EChart";

export interface IncidentMark {
  id: number;
  start: string;
  end: string;
  label: string;
  severity?: string;
}

export interface LineSpec {
  name: string;
  points: ChartPoint[];
  color?: string;
}

const sevColor: Record<string, string> = {
  critical: "rgba(159, 18, 57, 0.14)",
  high: "rgba(194, 65, 12, 0.12)",
  medium: "rgba(180, 35, 24, 0.09)",
  low: "rgba(180, 35, 24, 0.06)",
};

export function buildTimeSeriesOption(opts: {
  lines: LineSpec[];
  unit?: Unit;
  band?: boolean;
  changePoint?: string | null;
  incidents?: IncidentMark[];
  events?: ChangeEvent[];
  highlightEvents?: string[];
  compact?: boolean;
}): EChartOption {
  const { lines, unit = "ratio", band = true, changePoint, incidents = [], events = [], highlightEvents = [], compact } = opts;
  const fmt = (v: number) => formatValue(v, unit);
  const series: unknown[] = [];
  const first = lines[0];
  const hasBand = band && first && first.points.some((p) => p.lower != null && p.upper != null);
  if (hasBand) {
    series.push({
      name: "band-lower",
      type: "line",
      data: first.points.map((p) => [p.t, p.lower]),
      lineStyle: { opacity: 0 },
      stack: "band",
      symbol: "none",
      silent: true,
      tooltip: { show: false },
    });
    series.push({
      name: "Expected range",
      type: "line",
      data: first.points.map((p) => [p.t, p.upper != null && p.lower != null ? p.upper - p.lower : null]),
      lineStyle: { opacity: 0 },
      areaStyle: { color: palette.primaryLight },
      itemStyle: { color: "rgba(36, 83, 166, 0.25)" },
      stack: "band",
      symbol: "none",
      silent: true,
    });
  }
  if (first && first.points.some((p) => p.baseline != null)) {
    series.push({
      name: "Baseline",
      type: "line",
      data: first.points.map((p) => [p.t, p.baseline]),
      symbol: "none",
      lineStyle: { type: "dashed", width: 1.5, color: palette.control },
      itemStyle: { color: palette.control },
    });
  }
  lines.forEach((l, i) => {
    const markLines: unknown[] = [];
    const markAreas: unknown[] = [];
    if (i === 0) {
      if (changePoint) {
        markLines.push({
          xAxis: changePoint,
          name: "change point",
          lineStyle: { color: palette.bad, type: "solid", width: 1.5 },
          label: { formatter: "change point", color: palette.bad, fontSize: 11, position: "insideStartTop" },
        });
      }
      for (const e of events) {
        const hi = highlightEvents.includes(e.name);
        markLines.push({
          xAxis: e.ts,
          name: e.name,
          lineStyle: { color: palette.event, type: "dashed", width: hi ? 1.6 : 1, opacity: hi ? 1 : 0.45 },
          label: { show: hi && !compact, formatter: e.name, color: palette.event, fontSize: 10.5, position: "insideEndTop" },
          emphasis: { label: { show: true, formatter: e.name, position: "insideEndTop", color: palette.event, fontSize: 10.5 } },
        });
      }
      for (const inc of incidents) {
        markAreas.push([
          { xAxis: inc.start, name: inc.label, itemStyle: { color: sevColor[inc.severity ?? "low"] ?? palette.badArea }, incidentId: inc.id },
          { xAxis: inc.end },
        ]);
      }
    }
    series.push({
      name: l.name,
      type: "line",
      data: l.points.map((p) => [p.t, p.value]),
      symbol: "none",
      smooth: false,
      lineStyle: { width: 2, color: l.color ?? palette.series[i % palette.series.length] },
      itemStyle: { color: l.color ?? palette.series[i % palette.series.length] },
      markLine: markLines.length ? { symbol: "none", silent: false, data: markLines, animation: false } : undefined,
      markArea: markAreas.length ? { silent: false, data: markAreas, label: { show: false } } : undefined,
    });
  });
  const legend = series
    .map((s) => (s as { name: string }).name)
    .filter((n) => n !== "band-lower");
  return {
    animation: false,
    grid: { left: 56, right: 20, top: compact ? 16 : 36, bottom: compact ? 24 : 30 },
    legend: compact ? undefined : { data: legend, top: 4, right: 8, textStyle: { color: palette.axis, fontSize: 11 }, icon: "roundRect", itemHeight: 8 },
    tooltip: {
      trigger: "axis",
      valueFormatter: (v: unknown) => (typeof v === "number" ? fmt(v) : String(v ?? "—")),
    },
    xAxis: { type: "time", ...baseAxis, splitLine: { show: false } },
    yAxis: { type: "value", scale: true, ...baseAxis, axisLabel: { ...baseAxis.axisLabel, formatter: fmt } },
    series,
  };
}

export function TimeSeriesChart(props: {
  lines: LineSpec[];
  unit?: Unit;
  band?: boolean;
  changePoint?: string | null;
  incidents?: IncidentMark[];
  events?: ChangeEvent[];
  highlightEvents?: string[];
  height?: number;
  compact?: boolean;
  label: string;
  onIncidentClick?: (id: number) => void;
  testId?: string;
}) {
  const { lines, unit, band, changePoint, incidents, events, highlightEvents, compact } = props;
  const option = useMemo(
    () => buildTimeSeriesOption({ lines, unit, band, changePoint, incidents, events, highlightEvents, compact }),
    [lines, unit, band, changePoint, incidents, events, highlightEvents, compact],
  );
  const onClick = (p: EChartClick) => {
    if (p.componentType === "markArea" && props.onIncidentClick) {
      const d = p.data as { incidentId?: number } | [{ incidentId?: number }] | undefined;
      const id = Array.isArray(d) ? d[0]?.incidentId : d?.incidentId;
      const byName = props.incidents?.find((i) => i.label === p.name)?.id;
      if (id ?? byName) props.onIncidentClick(id ?? byName!);
    }
  };
  return <EChart option={option} height={props.height ?? 280} label={props.label} onClick={onClick} testId={props.testId} />;
}
