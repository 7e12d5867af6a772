// Small pieces the signal pages share: the hourly sparkline, the stage association, the cause.
import type { SignalHypothesis, SignalPattern } from "../../api/types";
import { formatPct, formatPValue, humanize } from "../../lib/format";

/** Signals per hour as an inline line (no axes); the window after the baseline is shaded. */
export function HourlySparkline({ hourly, windowFrom, label }: { hourly: readonly number[]; windowFrom: number; label: string }) {
  const w = 160;
  const h = 28;
  const max = Math.max(1, ...hourly);
  const step = hourly.length > 1 ? w / (hourly.length - 1) : w;
  const points = hourly.map((v, i) => `${(i * step).toFixed(1)},${(h - (v / max) * (h - 2) - 1).toFixed(1)}`).join(" ");
  const x0 = Math.max(0, Math.min(w, windowFrom * step));
  return (
    <svg width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={label} data-testid="sparkline">
      <rect x={x0} y={0} width={w - x0} height={h} fill="var(--primary-weak)" />
      <polyline points={points} fill="none" stroke="var(--primary)" strokeWidth={1.2} />
    </svg>
  );
}

/** "q = 0.03" / "q < 0.001" (a Benjamini–Hochberg q-value). */
export function formatQ(q: number | null | undefined): string {
  return formatPValue(q).replace(/^p/, "q");
}

export function formatRatio(r: number | null | undefined, unbounded?: boolean): string {
  if (unbounded) return "∞";
  if (r == null) return "–";
  return r >= 100 ? `×${r.toFixed(0)}` : `×${r.toFixed(1)}`;
}

/** The strongest stage association in words: "post_recent ×12 (q 1e-8)". */
export function StageText({ pattern }: { pattern: SignalPattern }) {
  const stage = pattern.stage;
  if (!stage) return <span className="faint">no migration data</span>;
  const best = stage.comparisons.find((c) => c.stage === stage.strongest);
  if (!best) return <span className="faint">none</span>;
  return (
    <span>
      {humanize(best.stage)} {formatRatio(best.ratio, best.unbounded)} <span className="faint">{formatQ(best.q_value)}</span>
    </span>
  );
}

export function topCause(pattern: SignalPattern): SignalHypothesis | undefined {
  return pattern.hypotheses[0];
}

export function CauseText({ pattern }: { pattern: SignalPattern }) {
  const top = topCause(pattern);
  if (!top) return <span className="faint">not assessed</span>;
  return (
    <span>
      {top.id === "unknown" ? "unknown" : humanize(top.id)} <span className="faint">{formatPct(top.confidence, 0, false)}</span>
    </span>
  );
}
