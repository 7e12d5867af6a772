// Number, time and interval formatting. Every number a user sees carries its unit and, where the
// engine gave one, its interval.

export type Unit = "rate" | "pts" | "percent" | "score" | "count" | "minutes" | "currency" | "ratio" | string;

export interface IntervalLike {
  /** null: the engine could not compute this end */
  low: number | null;
  high: number | null;
  level?: number;
}

const nf = (digits: number) =>
  new Intl.NumberFormat("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** A metric value in its unit: rates as percentages, scores with one decimal, counts grouped. */
export function formatValue(value: number | null | undefined, unit: Unit = "ratio"): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  switch (unit) {
    case "rate":
      return `${nf(1).format(value * 100)}%`;
    case "pts":
      return nf(1).format(value * 100);
    case "percent":
      return `${nf(1).format(value)}%`;
    case "count":
      return new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 }).format(value);
    case "minutes":
      return `${nf(1).format(value)} min`;
    case "currency":
      return new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" }).format(value);
    case "score":
      return Math.abs(value) <= 1.5 ? nf(3).format(value) : nf(1).format(value);
    default:
      return Math.abs(value) >= 100 ? nf(0).format(value) : nf(3).format(value);
  }
}

/** A change in the metric's unit, signed: rates in percentage points ("−3.2 pp"). */
export function formatChange(value: number | null | undefined, unit: Unit = "ratio"): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  const sign = value > 0 ? "+" : value < 0 ? "−" : "±";
  const abs = Math.abs(value);
  switch (unit) {
    case "rate":
      return `${sign}${nf(2).format(abs * 100)} pp`;
    case "pts":
      return `${sign}${nf(2).format(abs * 100)} pts`;
    case "percent":
      return `${sign}${nf(2).format(abs)} pp`;
    case "count":
      return `${sign}${new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 }).format(abs)}`;
    case "minutes":
      return `${sign}${nf(1).format(abs)} min`;
    case "currency":
      return `${sign}${new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" }).format(abs)}`;
    case "score":
      return `${sign}${abs < 0.1 ? nf(4).format(abs) : nf(2).format(abs)}`;
    default:
      return `${sign}${abs >= 100 ? nf(0).format(abs) : nf(3).format(abs)}`;
  }
}

/** A fraction as a signed percentage: 0.034 → "+3.4%". */
export function formatPct(value: number | null | undefined, digits = 1, signed = true): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  const sign = !signed ? "" : value > 0 ? "+" : value < 0 ? "−" : "";
  return `${sign}${nf(digits).format(Math.abs(value) * 100)}%`;
}

/** "[low, high] 95% CI" in the value's own formatter. */
export function formatInterval(
  interval: IntervalLike | null | undefined,
  fmt: (v: number) => string = (v) => nf(3).format(v),
): string {
  if (!interval) return "";
  const level = Math.round((interval.level ?? 0.95) * 100);
  return `${level}% CI [${formatEnd(interval.low, fmt)}, ${formatEnd(interval.high, fmt)}]`;
}

/** One end of an interval in the value's formatter; "—" when it could not be computed. */
export function formatEnd(value: number | null, fmt: (v: number) => string): string {
  return value == null ? "—" : fmt(value);
}

export function formatPValue(p: number | null | undefined): string {
  if (p === null || p === undefined || Number.isNaN(p)) return "—";
  if (p < 0.001) return "p < 0.001";
  return `p = ${p < 0.01 ? p.toFixed(3) : p.toFixed(2)}`;
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString("en-GB", {
    day: "2-digit",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "UTC",
    hour12: false,
  }) + " UTC";
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleDateString("en-GB", { day: "2-digit", month: "short", year: "numeric", timeZone: "UTC" });
}

export function formatDuration(days: number | null | undefined): string {
  if (days === null || days === undefined) return "—";
  return days === 1 ? "1 day" : `${nf(days % 1 ? 1 : 0).format(days)} days`;
}

/** The API's top cause "hypothesis: event-or-feature" with the hypothesis in words and the name as is. */
export function formatCause(topCause: string | null | undefined): string {
  if (!topCause) return "";
  const i = topCause.indexOf(": ");
  return i < 0 ? humanize(topCause) : `${humanize(topCause.slice(0, i))}: ${topCause.slice(i + 2)}`;
}

/** Slice keys "region=west&category=grocery" → "region = west · category = grocery"; "*" → "All". */
export function formatSlice(key: string | null | undefined): string {
  if (!key || key === "*") return "All traffic";
  return key
    .split("&")
    .map((p) => p.replace("=", " = "))
    .join(" · ");
}

const ACRONYMS: Record<string, string> = { cx: "CX", id: "ID", eta: "ETA", ios: "iOS", sla: "SLA", oos: "OOS", shap: "SHAP", did: "DiD", pm: "PM" };

/** An identifier as words: "cx_score" → "CX score", "false_alarm" → "False alarm". */
export function humanize(id: string | null | undefined): string {
  if (!id) return "";
  const words = id.replace(/[_-]+/g, " ").trim().split(/\s+/).map((w) => ACRONYMS[w.toLowerCase()] ?? w);
  const s = words.join(" ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}
