// Contribution heatmap of one drill level: one row per dimension, its values ranked by their share of
// the change left to right; each cell is labelled with the value and coloured by its share.
// Clicking a cell selects that slice.
import { useMemo } from "react";
import { formatPct } from "../../lib/format";
import { slicePairs, type SliceRow } from "../../lib/slices";
import { EChart, baseAxis, type EChartOption } from "./EChart";

export interface HeatCell {
  x: number; // rank within the dimension
  y: number; // dimension index
  share: number;
  key: string;
  value: string;
}

export interface HeatmapData {
  dims: string[];
  columns: number;
  cells: HeatCell[];
  max: number;
}

/** Cells of the slices that refine `parent` by one dimension, at most `maxColumns` values per dimension. */
export function heatmapData(rows: SliceRow[], parent: string, maxColumns = 6, dimensions: readonly string[] = []): HeatmapData {
  const parentDims = new Set(slicePairs(parent, dimensions).map(([d]) => d));
  const byDim = new Map<string, { key: string; value: string; share: number }[]>();
  for (const r of rows) {
    const extra = slicePairs(r.key, dimensions).filter(([d]) => !parentDims.has(d));
    if (extra.length !== 1) continue;
    const [dim, value] = extra[0];
    if (!byDim.has(dim)) byDim.set(dim, []);
    byDim.get(dim)!.push({ key: r.key, value, share: r.share ?? 0 });
  }
  const dims = [...byDim.entries()]
    .map(([d, vs]) => [d, Math.max(...vs.map((v) => v.share))] as const)
    .sort((a, b) => b[1] - a[1])
    .map(([d]) => d);
  const cells: HeatCell[] = [];
  let max = 0;
  let columns = 0;
  dims.forEach((dim, y) => {
    const vs = byDim.get(dim)!.sort((a, b) => b.share - a.share).slice(0, maxColumns);
    columns = Math.max(columns, vs.length);
    vs.forEach((v, x) => {
      cells.push({ x, y, share: v.share, key: v.key, value: v.value });
      max = Math.max(max, Math.abs(v.share));
    });
  });
  return { dims, columns, cells, max };
}

export function SliceHeatmap({
  rows,
  parent = "*",
  dimensions = [],
  selected,
  onSelect,
}: {
  rows: SliceRow[];
  parent?: string;
  /** The workspace's: they split keys whose values hold "&" or "=". */
  dimensions?: readonly string[];
  selected?: string | null;
  onSelect?: (key: string) => void;
}) {
  const data = useMemo(() => heatmapData(rows, parent, 6, dimensions), [rows, parent, dimensions]);
  const option = useMemo<EChartOption>(() => {
    const max = data.max || 1;
    return {
      animation: false,
      grid: { left: 96, right: 12, top: 6, bottom: 50 },
      tooltip: {
        formatter: (p: { data: { value: [number, number, number]; key: string } }) =>
          `${p.data.key.replace(/&/g, " · ")}<br/>share of change <b>${formatPct(p.data.value[2], 1, false)}</b>`,
      },
      xAxis: {
        type: "category",
        data: Array.from({ length: data.columns }, (_, i) => `#${i + 1}`),
        ...baseAxis,
        name: "rank by share of the change",
        nameLocation: "middle",
        nameGap: 22,
        nameTextStyle: { color: "#7a8496", fontSize: 11 },
        splitArea: { show: false },
      },
      yAxis: { type: "category", data: data.dims, inverse: true, ...baseAxis, axisLabel: { ...baseAxis.axisLabel, fontSize: 12, color: "#4b5668" } },
      visualMap: {
        min: -max,
        max,
        show: false,
        inRange: { color: ["#2e8b62", "#f3f5f8", "#f6c9c2", "#b42318"] },
      },
      series: [
        {
          type: "heatmap",
          data: data.cells.map((c) => ({
            value: [c.x, c.y, c.share],
            key: c.key,
            name: c.value,
            itemStyle: c.key === selected ? { borderColor: "#17202e", borderWidth: 2 } : { borderColor: "#fff", borderWidth: 1 },
          })),
          label: {
            show: true,
            fontSize: 10.5,
            lineHeight: 14,
            color: "#17202e",
            overflow: "truncate",
            width: 84,
            formatter: (p: { name: string; value: [number, number, number] }) => `${p.name}\n${formatPct(p.value[2], 0, false)}`,
          },
          emphasis: { itemStyle: { borderColor: "#17202e", borderWidth: 1 } },
        },
      ],
    };
  }, [data, selected]);
  if (!data.cells.length) return null;
  return (
    <EChart
      option={option}
      height={Math.max(150, data.dims.length * 44 + 64)}
      label={`Heatmap of each dimension's values by their share of the change`}
      onClick={(p) => {
        const key = (p.data as { key?: string } | undefined)?.key;
        if (key) onSelect?.(key);
      }}
      testId="slice-heatmap"
    />
  );
}
