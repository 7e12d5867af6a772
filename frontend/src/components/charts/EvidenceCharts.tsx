// Charts for the evidence behind a cause: difference-in-differences (treated vs control over time),
// SHAP attribution shift (bars per feature), and timing (change events against the onset).
import { useMemo } from "react";
import { formatValue, humanize, type Unit } from "../../lib/format";
import { EChart, baseAxis, palette, type EChartOption } from "./EChart";

type Pt = { t: string; value: number | null };

function asPoints(v: unknown): Pt[] | null {
  if (!Array.isArray(v) || v.length === 0) return null;
  const pts: Pt[] = [];
  for (const p of v) {
    if (Array.isArray(p) && p.length >= 2) pts.push({ t: String(p[0]), value: p[1] == null ? null : Number(p[1]) });
    else if (p && typeof p === "object" && "t" in p) {
      const o = p as { t: unknown; value?: unknown; y?: unknown };
      const val = o.value ?? o.y;
      pts.push({ t: String(o.t), value: val == null ? null : Number(val) });
    } else return null;
  }
  return pts;
}

/** Treated/control series from a DiD evidence's detail, or null when it carries none. */
export function didSeries(detail: Record<string, unknown> | undefined) {
  if (!detail) return null;
  const treated = asPoints(detail.treated ?? (detail.series as Record<string, unknown> | undefined)?.treated);
  const control = asPoints(detail.control ?? (detail.series as Record<string, unknown> | undefined)?.control);
  if (!treated || !control) return null;
  return { treated, control, eventTime: (detail.event_time ?? detail.time ?? null) as string | null };
}

export function DidChart({ detail, unit = "ratio", height = 210 }: { detail: Record<string, unknown> | undefined; unit?: Unit; height?: number }) {
  const s = didSeries(detail);
  const option = useMemo<EChartOption | null>(() => {
    if (!s) return null;
    const fmt = (v: number) => formatValue(v, unit);
    return {
      animation: false,
      grid: { left: 52, right: 12, top: 28, bottom: 24 },
      legend: { top: 0, right: 4, textStyle: { color: palette.axis, fontSize: 11 }, itemHeight: 8 },
      tooltip: { trigger: "axis", valueFormatter: (v: unknown) => (typeof v === "number" ? fmt(v) : "—") },
      xAxis: { type: "time", ...baseAxis, splitLine: { show: false } },
      yAxis: { type: "value", scale: true, ...baseAxis, axisLabel: { ...baseAxis.axisLabel, formatter: fmt } },
      series: [
        {
          name: "Treated",
          type: "line",
          symbol: "none",
          data: s.treated.map((p) => [p.t, p.value]),
          lineStyle: { color: palette.bad, width: 2 },
          itemStyle: { color: palette.bad },
          markLine: s.eventTime
            ? { symbol: "none", data: [{ xAxis: s.eventTime }], lineStyle: { color: palette.event, type: "dashed" }, label: { formatter: "change", color: palette.event, fontSize: 10 } }
            : undefined,
        },
        {
          name: "Control",
          type: "line",
          symbol: "none",
          data: s.control.map((p) => [p.t, p.value]),
          lineStyle: { color: palette.control, width: 2 },
          itemStyle: { color: palette.control },
        },
      ],
    };
  }, [s, unit]);
  if (!option) return null;
  return <EChart option={option} height={height} label="Difference-in-differences: treated versus control over time" testId="did-chart" />;
}

export interface ShapRow {
  feature: string;
  before?: number;
  after?: number;
  shift: number;
}

/** Per-feature attribution shift from a SHAP evidence's detail, largest |shift| first. */
export function shapRows(detail: Record<string, unknown> | undefined): ShapRow[] {
  if (!detail) return [];
  let rows: ShapRow[] = [];
  const feats = detail.features ?? detail.shifts ?? detail.shift;
  if (Array.isArray(feats)) {
    rows = feats
      .filter((f) => f && typeof f === "object")
      .map((f) => {
        const o = f as Record<string, unknown>;
        const before = o.before == null ? undefined : Number(o.before);
        const after = o.after == null ? undefined : Number(o.after);
        const shift = o.shift != null ? Number(o.shift) : (after ?? 0) - (before ?? 0);
        return { feature: String(o.feature ?? o.name ?? "?"), before, after, shift };
      });
  } else if (feats && typeof feats === "object") {
    rows = Object.entries(feats as Record<string, unknown>).map(([feature, v]) => ({ feature, shift: Number(v) }));
  }
  return rows.filter((r) => Number.isFinite(r.shift)).sort((a, b) => Math.abs(b.shift) - Math.abs(a.shift));
}

export function ShapBars({ detail, highlight, height }: { detail: Record<string, unknown> | undefined; highlight?: string | null; height?: number }) {
  const rows = shapRows(detail).slice(0, 10);
  const option = useMemo<EChartOption | null>(() => {
    if (!rows.length) return null;
    const ordered = [...rows].reverse();
    return {
      animation: false,
      grid: { left: 120, right: 24, top: 8, bottom: 22 },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: (v: unknown) => (typeof v === "number" ? v.toFixed(4) : "—") },
      xAxis: { type: "value", ...baseAxis },
      yAxis: { type: "category", data: ordered.map((r) => r.feature), ...baseAxis, axisLabel: { ...baseAxis.axisLabel, formatter: (v: string) => humanize(v) } },
      series: [
        {
          name: "Attribution shift",
          type: "bar",
          barMaxWidth: 16,
          data: ordered.map((r) => ({
            value: r.shift,
            itemStyle: { color: r.feature === highlight ? palette.bad : r.shift >= 0 ? palette.primary : palette.control, borderRadius: 3 },
          })),
        },
      ],
    };
  }, [rows, highlight]);
  if (!option) return null;
  return <EChart option={option} height={height ?? Math.max(120, rows.length * 24 + 36)} label="SHAP attribution shift by feature" testId="shap-chart" />;
}

export interface TimingEvent {
  name: string;
  time: string;
}

export function TimingChart({ onset, events, lagHours, height = 110 }: { onset: string; events: TimingEvent[]; lagHours?: number | null; height?: number }) {
  const option = useMemo<EChartOption>(() => {
    const times = [onset, ...events.map((e) => e.time)].map((t) => new Date(t).getTime()).filter(Number.isFinite);
    const min = Math.min(...times);
    const max = Math.max(...times);
    const pad = Math.max(6 * 3600e3, (max - min) * 0.25);
    return {
      animation: false,
      grid: { left: 16, right: 16, top: 26, bottom: 24 },
      tooltip: { trigger: "item", formatter: (p: { name: string; value: [string, number] }) => `${p.name}<br/>${new Date(p.value[0]).toUTCString()}` },
      xAxis: { type: "time", min: min - pad, max: max + pad, ...baseAxis, splitLine: { show: false } },
      yAxis: { type: "value", show: false, min: -1, max: 1 },
      series: [
        {
          type: "scatter",
          symbolSize: 11,
          data: [
            { name: "regression onset", value: [onset, 0], itemStyle: { color: palette.bad } },
            ...events.map((e) => ({ name: e.name, value: [e.time, 0], symbol: "diamond", itemStyle: { color: palette.event } })),
          ],
          label: { show: true, position: "top", formatter: (p: { name: string }) => p.name, fontSize: 10.5, color: palette.axis },
          markLine: { symbol: "none", silent: true, data: [{ yAxis: 0 }], lineStyle: { color: palette.grid } },
        },
      ],
      title: lagHours != null ? { text: `lag ${lagHours.toFixed(1)} h`, right: 8, top: 0, textStyle: { fontSize: 11, color: palette.axis, fontWeight: 500 } } : undefined,
    };
  }, [onset, events, lagHours]);
  return <EChart option={option} height={height} label="Timing of change events against the regression onset" testId="timing-chart" />;
}
