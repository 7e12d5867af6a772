// Mismatches by reason code as an interactive horizontal bar chart (ECharts, like every chart of the UI):
// switch the measure (mismatches, records, customers, amount), hover for every number, click a bar (or
// its button below, for keyboards and screen readers) to select that reason.
import { useMemo } from "react";
import type { ReasonCount } from "../../api/types";
import { EChart, baseAxis, palette, type EChartOption } from "../charts/EChart";
import { amount, count } from "./format";

export type ReasonMeasure = "mismatches" | "records" | "customers" | "amount";
export const MEASURES: [ReasonMeasure, string][] = [
  ["mismatches", "Mismatches"],
  ["records", "Records"],
  ["customers", "Customers"],
  ["amount", "Amount"],
];

export function sortedReasons(reasons: ReasonCount[], measure: ReasonMeasure): ReasonCount[] {
  return [...reasons].sort((a, b) => Math.abs(b[measure]) - Math.abs(a[measure]) || a.reason.localeCompare(b.reason));
}

export function ReasonChart({
  reasons,
  measure,
  selected,
  onSelect,
}: {
  reasons: ReasonCount[];
  measure: ReasonMeasure;
  selected: string | null;
  onSelect: (reason: string | null) => void;
}) {
  const rows = useMemo(() => sortedReasons(reasons, measure), [reasons, measure]);
  const option = useMemo<EChartOption>(
    () => ({
      animation: false,
      grid: { left: 8, right: 56, top: 8, bottom: 24, containLabel: true },
      tooltip: {
        trigger: "item",
        formatter: (p: { dataIndex: number }) => {
          const r = rows[p.dataIndex];
          return `<strong>${r.reason}</strong><br/>${count(r.mismatches)} mismatches · ${count(r.records)} records<br/>` +
            `${count(r.customers)} customers · amount ${amount(r.amount)}`;
        },
      },
      xAxis: { type: "value", ...baseAxis },
      yAxis: {
        type: "category",
        inverse: true,
        data: rows.map((r) => r.reason),
        ...baseAxis,
        axisLabel: { ...baseAxis.axisLabel, width: 220, overflow: "truncate" },
      },
      series: [
        {
          type: "bar",
          barMaxWidth: 22,
          cursor: "pointer",
          label: { show: true, position: "right", color: palette.axis, fontSize: 11,
            formatter: (p: { value: number }) => (measure === "amount" ? amount(p.value) : count(p.value)) },
          data: rows.map((r) => ({
            value: r[measure],
            itemStyle: { color: selected === null || selected === r.reason ? palette.primary : palette.control },
          })),
        },
      ],
    }),
    [rows, measure, selected],
  );
  const label = `Mismatches by reason code: ${MEASURES.find(([m]) => m === measure)![1].toLowerCase()} per reason`;
  return (
    <div>
      <EChart
        option={option}
        height={48 + 30 * rows.length}
        label={label}
        testId="reason-chart"
        onClick={(p) => p.name && onSelect(p.name === selected ? null : p.name)}
      />
      <div className="row small" role="group" aria-label="Select a reason code" style={{ flexWrap: "wrap", gap: 6, marginTop: 6 }}>
        {rows.map((r) => (
          <button key={r.reason} className="chip" aria-pressed={selected === r.reason}
            onClick={() => onSelect(selected === r.reason ? null : r.reason)}>
            {r.reason} <span className="faint">{measure === "amount" ? amount(r.amount) : count(r[measure])}</span>
          </button>
        ))}
      </div>
    </div>
  );
}
