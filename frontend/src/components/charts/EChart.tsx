// A thin React wrapper over ECharts (tree-shaken core, canvas renderer): init once, setOption on change,
// resize with the container, and forward clicks. The figure carries an accessible name and summary.
import { useEffect, useRef } from "react";
import * as echarts from "echarts/core";
import { BarChart, HeatmapChart, LineChart, ScatterChart } from "echarts/charts";
import {
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  MarkPointComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([
  LineChart,
  BarChart,
  HeatmapChart,
  ScatterChart,
  GridComponent,
  TooltipComponent,
  LegendComponent,
  MarkLineComponent,
  MarkAreaComponent,
  MarkPointComponent,
  TitleComponent,
  VisualMapComponent,
  DataZoomComponent,
  CanvasRenderer,
]);

export type EChartOption = echarts.EChartsCoreOption;
export interface EChartClick {
  componentType?: string;
  seriesName?: string;
  name?: string;
  data?: unknown;
  value?: unknown;
}

export function EChart({
  option,
  height = 280,
  label,
  onClick,
  testId,
}: {
  option: EChartOption;
  height?: number;
  label: string;
  onClick?: (p: EChartClick) => void;
  testId?: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  const clickRef = useRef(onClick);
  clickRef.current = onClick;

  useEffect(() => {
    if (!ref.current) return;
    const c = echarts.init(ref.current, undefined, { renderer: "canvas" });
    chart.current = c;
    c.on("click", (p) => clickRef.current?.(p as EChartClick));
    const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => c.resize()) : null;
    ro?.observe(ref.current);
    return () => {
      ro?.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(option, { notMerge: true });
  }, [option]);

  return <div ref={ref} role="img" aria-label={label} data-testid={testId} style={{ width: "100%", height }} />;
}

export const palette = {
  primary: "#2453a6",
  primaryLight: "rgba(36, 83, 166, 0.12)",
  control: "#8a94a6",
  bad: "#b42318",
  badArea: "rgba(180, 35, 24, 0.08)",
  good: "#1e7a4f",
  warn: "#b25e09",
  event: "#6d4cc2",
  grid: "#e7ebf1",
  axis: "#7a8496",
  series: ["#2453a6", "#0f8b8d", "#c2410c", "#6d4cc2", "#1e7a4f", "#a16207", "#9f1239"],
};

export const baseAxis = {
  axisLine: { lineStyle: { color: palette.grid } },
  axisTick: { show: false },
  axisLabel: { color: palette.axis, fontSize: 11 },
  splitLine: { lineStyle: { color: palette.grid } },
};
