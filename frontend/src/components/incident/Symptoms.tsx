// The incident's symptoms: every metric its one cause moved, measured in the incident's own scope
// (before its onset → after it), with the change's 95% interval, its size in standard errors (the
// severity) and the change times the traffic it touched per day. One row is charted at a time.
import type { Symptom, Workspace } from "../../api/types";
import { SeverityBadge } from "../Badges";
import { formatChange, formatInterval, formatSlice, formatValue, humanize } from "../../lib/format";
import { unitOf } from "../../lib/series";
import { metricInfo } from "../../lib/workspace";

/** A scope in words from its slices' values: "region east and west"; "basket_bucket 2-3 and category restaurant". */
export function scopeWords(keys: string[]): string {
  const slices = keys.filter((k) => k && k !== "*");
  if (!slices.length) return "everywhere";
  const singles = new Map<string, string[]>();
  const combined: string[] = [];
  for (const key of slices) {
    const pairs = key.split("&").map((p) => p.split("=") as [string, string]);
    if (pairs.length === 1) singles.set(pairs[0][0], [...(singles.get(pairs[0][0]) ?? []), pairs[0][1]]);
    else combined.push(pairs.map(([d, v]) => `${d} ${v}`).join(" and "));
  }
  const parts = [...singles].map(([dim, values]) =>
    `${dim} ${values.length === 1 ? values[0] : `${values.slice(0, -1).join(", ")} and ${values[values.length - 1]}`}`,
  );
  return [...parts, ...combined].join(" or ");
}

/** The size of the incident's change in its metric's unit (pp for a rate), never a relative change beside it. */
export function changeSize(inc: { baseline?: number | null; current?: number | null }, unit: ReturnType<typeof unitOf>): string {
  if (inc.baseline == null || inc.current == null) return "";
  return formatChange(Math.abs(inc.current - inc.baseline), unit).replace(/^\+/, "");
}

function perDay(value: number | null | undefined, unit: ReturnType<typeof unitOf>, noun: string): string {
  if (value == null || !Number.isFinite(value)) return "—";
  const sign = value > 0 ? "+" : value < 0 ? "−" : "±";
  const n = `${sign}${new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 }).format(Math.abs(value))}`;
  if (unit === "rate") return `${n} ${noun}/day`;
  return `${formatChange(value, unit)}/day`;
}

export function Symptoms({
  symptoms,
  ws,
  charted,
  onChart,
}: {
  symptoms: Symptom[];
  ws: Workspace | undefined;
  charted: string;
  onChart: (metric: string) => void;
}) {
  return (
    <div className="table-wrap">
      <table className="tbl" aria-label="Symptoms">
        <thead>
          <tr>
            <th>Metric</th>
            <th className="r">Before → after</th>
            <th className="r">Change (95% CI)</th>
            <th className="r">Std. errors</th>
            <th>Severity</th>
            <th className="r">Change × traffic</th>
            <th>First seen in</th>
          </tr>
        </thead>
        <tbody>
          {symptoms.map((s) => {
            const unit = unitOf(metricInfo(ws, s.metric));
            const iv = s.change_interval;
            return (
              <tr key={s.id} data-testid="symptom">
                <td>
                  <button className="btn small" aria-pressed={charted === s.metric} onClick={() => onChart(s.metric)}>
                    {humanize(s.metric)}
                  </button>
                </td>
                <td className="r num">
                  {formatValue(s.baseline, unit)} → {formatValue(s.current, unit)}
                </td>
                <td className="r num">
                  {formatChange(s.change, unit)}{" "}
                  {iv && iv.low != null && iv.high != null && (
                    <span className="muted small">{formatInterval({ low: iv.low, high: iv.high }, (v) => formatChange(v, unit))}</span>
                  )}
                </td>
                <td className="r num">{s.standard_errors ?? "—"}</td>
                <td><SeverityBadge severity={s.severity} /></td>
                <td className="r num">{perDay(s.impact_per_day, unit, "records")}</td>
                <td className="small">{formatSlice(s.detected_in)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
