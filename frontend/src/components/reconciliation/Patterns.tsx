// The mismatch patterns of a run: systematic (concentrated in a slice, with the evidence: share affected
// in the slice against the rest) or isolated, with the likely cause and the remediation.
import type { ReconciliationFinding } from "../../api/types";
import { formatPct, formatSlice } from "../../lib/format";
import { amount, count } from "./format";

export function ClassBadge({ classification }: { classification: string }) {
  return <span className={`badge ${classification === "systematic" ? "no" : "sev-low"}`}>{classification}</span>;
}

function Evidence({ f }: { f: ReconciliationFinding }) {
  const p = f.pattern;
  if (!p.slices.length) return <div className="small faint">{p.evidence || "no slice holds it at a higher rate"}</div>;
  return (
    <details>
      <summary className="small">{p.evidence}</summary>
      <table className="tbl" aria-label={`Slices of ${p.label}`} style={{ marginTop: 6 }}>
        <thead>
          <tr>
            <th>Slice</th>
            <th className="num">Affected in slice</th>
            <th className="num">Elsewhere</th>
            <th className="num">Share of the pattern</th>
          </tr>
        </thead>
        <tbody>
          {p.slices.map((s) => (
            <tr key={s.slice}>
              <td>{formatSlice(s.slice)}</td>
              <td className="num">{count(s.affected)} of {count(s.population)} ({formatPct(s.share, 1, false)})</td>
              <td className="num">{count(s.rest_affected)} of {count(s.rest_population)} ({formatPct(s.rest_share, 1, false)})</td>
              <td className="num">{formatPct(s.pattern_share, 0, false)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

export function Patterns({ findings, highlight }: { findings: ReconciliationFinding[]; highlight: string | null }) {
  return (
    <div className="table-wrap">
      <table className="tbl" aria-label="Mismatch patterns">
        <thead>
          <tr>
            <th>Pattern</th>
            <th>Kind</th>
            <th className="num">Records</th>
            <th className="num">Customers</th>
            <th className="num">Amount</th>
            <th>Evidence</th>
            <th>Likely cause and remediation</th>
          </tr>
        </thead>
        <tbody>
          {findings.map((f) => (
            <tr key={f.pattern.label} data-testid="recon-pattern" aria-current={highlight === f.pattern.label ? "true" : undefined}
              style={highlight === f.pattern.label ? { background: "var(--primary-weak)" } : undefined}>
              <td><strong>{f.pattern.label}</strong></td>
              <td><ClassBadge classification={f.pattern.classification} /></td>
              <td className="num">{count(f.pattern.records)}</td>
              <td className="num">{count(f.pattern.customers)}</td>
              <td className="num">{amount(f.pattern.amount)}</td>
              <td style={{ maxWidth: 340 }}><Evidence f={f} /></td>
              <td className="small" style={{ maxWidth: 380 }}>
                <strong>{f.cause.cause}</strong>
                {f.cause.scope && f.cause.scope !== "*" && <span className="faint"> · {formatSlice(f.cause.scope)}</span>}
                <div>{f.cause.explanation}</div>
                <div className="muted" style={{ marginTop: 4 }}>{f.remediation}</div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
