// Charts for the evidence behind a cause: treated vs control (difference-in-differences), the event
// study's per-period effects, SHAP attribution shift per input, timing of the change against the
// change point, and the placebo refutations (real statistic against its placebos).
import { useMemo } from "react";
import { formatChange, formatValue, humanize, type Unit } from "../../lib/format";
import type { ChartPoint } from "../../lib/series";
import type { EvidenceOf } from "../../api/types";
import { EChart, baseAxis, palette, type EChartOption } from "./EChart";

export function DidChart({
  treated,
  control,
  eventTime,
  unit = "ratio",
  treatedLabel = "Treated",
  controlLabel = "Control",
  height = 220,
}: {
  treated: ChartPoint[];
  control: ChartPoint[];
  eventTime?: string | null;
  unit?: Unit;
  treatedLabel?: string;
  controlLabel?: string;
  height?: number;
}) {
  const option = useMemo<EChartOption>(() => {
    const fmt = (v: number) => formatValue(v, unit);
    return {
      animation: false,
      grid: { left: 56, right: 12, top: 30, bottom: 24 },
      legend: { top: 0, right: 4, textStyle: { color: palette.axis, fontSize: 11 }, itemHeight: 8 },
      tooltip: { trigger: "axis", valueFormatter: (v: unknown) => (typeof v === "number" ? fmt(v) : "—") },
      xAxis: { type: "time", ...baseAxis, splitLine: { show: false } },
      yAxis: { type: "value", scale: true, ...baseAxis, axisLabel: { ...baseAxis.axisLabel, formatter: fmt } },
      series: [
        {
          name: treatedLabel,
          type: "line",
          symbol: "circle",
          symbolSize: 4,
          data: treated.map((p) => [p.t, p.value]),
          lineStyle: { color: palette.bad, width: 2 },
          itemStyle: { color: palette.bad },
          markLine: eventTime
            ? { symbol: "none", data: [{ xAxis: eventTime }], lineStyle: { color: palette.event, type: "dashed" }, label: { formatter: "change", color: palette.event, fontSize: 10 } }
            : undefined,
        },
        {
          name: controlLabel,
          type: "line",
          symbol: "circle",
          symbolSize: 4,
          data: control.map((p) => [p.t, p.value]),
          lineStyle: { color: palette.control, width: 2 },
          itemStyle: { color: palette.control },
        },
      ],
    };
  }, [treated, control, eventTime, unit, treatedLabel, controlLabel]);
  return <EChart option={option} height={height} label={`Difference-in-differences: ${treatedLabel} versus ${controlLabel} over time`} testId="did-chart" />;
}

export type Period = EvidenceOf<"event_study">["detail"]["periods"][number];

/** The event study's periods with an estimate, in order of time (k = periods since the change). */
export function eventStudyPeriods(ev: EvidenceOf<"event_study">): Period[] {
  return ev.detail.periods.filter((p) => p.effect != null).sort((a, b) => a.k - b.k);
}

export function EventStudyChart({ periods, unit = "ratio", height = 200 }: { periods: Period[]; unit?: Unit; height?: number }) {
  const option = useMemo<EChartOption>(() => {
    const fmt = (v: number) => formatChange(v, unit);
    const ks = periods.map((p) => String(p.k));
    return {
      animation: false,
      grid: { left: 60, right: 12, top: 12, bottom: 34 },
      tooltip: { trigger: "axis", valueFormatter: (v: unknown) => (typeof v === "number" ? fmt(v) : "—") },
      xAxis: { type: "category", data: ks, ...baseAxis, name: "periods since the change", nameLocation: "middle", nameGap: 22, nameTextStyle: { color: palette.axis, fontSize: 11 } },
      yAxis: { type: "value", scale: true, ...baseAxis, axisLabel: { ...baseAxis.axisLabel, formatter: fmt } },
      series: [
        { name: "ci-low", type: "line", data: periods.map((p) => p.interval.low), stack: "ci", symbol: "none", lineStyle: { opacity: 0 }, tooltip: { show: false }, silent: true },
        { name: "95% CI", type: "line", data: periods.map((p) => (p.interval.high != null && p.interval.low != null ? p.interval.high - p.interval.low : null)), stack: "ci", symbol: "none", lineStyle: { opacity: 0 }, areaStyle: { color: palette.primaryLight }, silent: true, tooltip: { show: false } },
        {
          name: "Effect",
          type: "line",
          data: periods.map((p) => p.effect),
          symbol: "circle",
          symbolSize: 6,
          lineStyle: { color: palette.primary, width: 2 },
          itemStyle: { color: palette.primary },
          markLine: { symbol: "none", silent: true, data: [{ yAxis: 0 }, { xAxis: ks.indexOf("0") >= 0 ? "0" : undefined }].filter((d) => Object.values(d)[0] !== undefined), lineStyle: { color: palette.axis, type: "dashed" }, label: { show: false } },
        },
      ],
    };
  }, [periods, unit]);
  return <EChart option={option} height={height} label="Event study: effect per period around the change with 95% intervals" testId="event-study-chart" />;
}

export interface ShapRow {
  feature: string;
  shift: number;
}

/** Per-input SHAP shift (Δ mean SHAP) of a SHAP evidence, largest |shift| first. */
export function shapRows(ev: EvidenceOf<"shap">): ShapRow[] {
  return ev.detail.top_inputs
    .flatMap((x) => (x.delta_shap == null ? [] : [{ feature: x.input, shift: x.delta_shap }]))
    .sort((a, b) => Math.abs(b.shift) - Math.abs(a.shift));
}

export function ShapBars({ ev, highlight, height }: { ev: EvidenceOf<"shap">; highlight?: string | null; height?: number }) {
  const rows = useMemo(() => shapRows(ev).slice(0, 10), [ev]);
  const option = useMemo<EChartOption | null>(() => {
    if (!rows.length) return null;
    const ordered = [...rows].reverse();
    return {
      animation: false,
      grid: { left: 150, right: 28, top: 8, bottom: 22 },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: (v: unknown) => (typeof v === "number" ? v.toPrecision(3) : "—") },
      xAxis: { type: "value", ...baseAxis, name: "Δ mean SHAP", nameLocation: "middle", nameGap: 20, nameTextStyle: { color: palette.axis, fontSize: 10.5 } },
      yAxis: { type: "category", data: ordered.map((r) => r.feature), ...baseAxis, axisLabel: { ...baseAxis.axisLabel, formatter: (v: string) => humanize(v) } },
      series: [
        {
          name: "Attribution shift",
          type: "bar",
          barMaxWidth: 16,
          data: ordered.map((r) => ({
            value: r.shift,
            itemStyle: { color: r.feature === highlight ? palette.bad : palette.control, borderRadius: 3 },
          })),
        },
      ],
    };
  }, [rows, highlight]);
  if (!option) return null;
  return <EChart option={option} height={height ?? Math.max(120, rows.length * 26 + 44)} label="SHAP attribution shift by input" testId="shap-chart" />;
}

export function TimingChart({
  changePoint,
  interval,
  candidate,
  candidateLabel,
  height = 120,
}: {
  changePoint: string;
  interval?: { low: string; high: string } | null;
  candidate: string;
  candidateLabel: string;
  height?: number;
}) {
  const option = useMemo<EChartOption>(() => {
    const times = [changePoint, candidate, ...(interval ? [interval.low, interval.high] : [])].map((t) => new Date(t).getTime()).filter(Number.isFinite);
    const min = Math.min(...times);
    const max = Math.max(...times);
    const pad = Math.max(12 * 3600e3, (max - min) * 0.4);
    return {
      animation: false,
      grid: { left: 16, right: 16, top: 34, bottom: 24 },
      tooltip: { trigger: "item", formatter: (p: { name: string; value: [string, number] }) => `${p.name}<br/>${new Date(p.value[0]).toUTCString()}` },
      xAxis: { type: "time", min: min - pad, max: max + pad, ...baseAxis, splitLine: { show: false } },
      yAxis: { type: "value", show: false, min: -1, max: 1 },
      series: [
        {
          type: "scatter",
          symbolSize: 12,
          data: [
            { name: "metric change point", value: [changePoint, 0], itemStyle: { color: palette.bad } },
            { name: candidateLabel, value: [candidate, 0], symbol: "diamond", symbolSize: 14, itemStyle: { color: palette.event }, label: { position: "bottom" } },
          ],
          label: { show: true, position: "top", distance: 8, formatter: (p: { name: string }) => p.name, fontSize: 10.5, color: "#4b5668" },
          markArea: interval ? { silent: true, itemStyle: { color: "rgba(180,35,24,0.10)" }, data: [[{ xAxis: interval.low }, { xAxis: interval.high }]] } : undefined,
          markLine: { symbol: "none", silent: true, data: [{ yAxis: 0 }], lineStyle: { color: palette.grid }, label: { show: false } },
        },
      ],
    };
  }, [changePoint, interval, candidate, candidateLabel]);
  return <EChart option={option} height={height} label="Timing of the change event against the metric's change point" testId="timing-chart" />;
}

export function PlaceboChart({ real, placebos, label, height = 110 }: { real: number; placebos: number[]; label: string; height?: number }) {
  const option = useMemo<EChartOption>(() => {
    const all = [real, ...placebos];
    const lim = Math.max(...all.map(Math.abs), 1) * 1.15;
    return {
      animation: false,
      grid: { left: 16, right: 16, top: 26, bottom: 24 },
      tooltip: { trigger: "item", formatter: (p: { seriesName: string; value: [number, number] }) => `${p.seriesName}: z = ${p.value[0].toFixed(2)}` },
      legend: { top: 0, right: 4, textStyle: { color: palette.axis, fontSize: 11 }, itemHeight: 8 },
      xAxis: { type: "value", min: -lim, max: lim, ...baseAxis, name: "z", nameLocation: "end", nameTextStyle: { color: palette.axis } },
      yAxis: { type: "value", show: false, min: -1, max: 1 },
      series: [
        { name: "Placebos", type: "scatter", symbolSize: 9, data: placebos.map((z, i) => [z, ((i % 5) - 2) * 0.12]), itemStyle: { color: palette.control, opacity: 0.8 } },
        { name: "Real change", type: "scatter", symbol: "diamond", symbolSize: 15, data: [[real, 0]], itemStyle: { color: palette.bad } },
      ],
    };
  }, [real, placebos]);
  return <EChart option={option} height={height} label={label} testId="placebo-chart" />;
}
