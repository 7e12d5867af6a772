// A run's history: what changed since the run it was compared with (patterns and customers resolved,
// new, persisting) and the chain of earlier runs it descends from.
import { Link } from "react-router";
import type { ReconciliationRun, RunComparison } from "../../api/types";
import { formatDateTime } from "../../lib/format";
import { count } from "./format";

const STATUS_BADGE: Record<string, string> = { resolved: "ok", new: "no", persisting: "sev-medium" };

export function RunsCompared({ comparison, previousId }: { comparison: RunComparison; previousId: number | null }) {
  const p = comparison.patterns;
  return (
    <div className="stack">
      <div className="small muted">
        Compared with {previousId ? <Link to={`/reconciliations/${previousId}`}>run #{previousId}</Link> : "an earlier output"}:{" "}
        {p.resolved.length} pattern(s) resolved, {p.new.length} new, {p.persisting.length} persisting ·{" "}
        customers {count(comparison.customers.resolved)} resolved, {count(comparison.customers.new)} new,{" "}
        {count(comparison.customers.persisting)} still impacted
      </div>
      <div className="table-wrap">
        <table className="tbl" aria-label="Runs compared">
          <thead>
            <tr>
              <th>Pattern</th>
              <th>Since the previous run</th>
              <th className="num">Customers resolved</th>
              <th className="num">New</th>
              <th className="num">Persisting</th>
            </tr>
          </thead>
          <tbody>
            {comparison.by_pattern.map((c) => (
              <tr key={c.pattern} data-testid="compared-pattern">
                <td>{c.pattern}</td>
                <td><span className={`badge ${STATUS_BADGE[c.status]}`}>{c.status}</span></td>
                <td className="num">{count(c.customers.resolved)}</td>
                <td className="num">{count(c.customers.new)}</td>
                <td className="num">{count(c.customers.persisting)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

/** This run and the runs before it, following each run's previous one. */
export function historyOf(run: ReconciliationRun, runs: ReconciliationRun[]): ReconciliationRun[] {
  const byId = new Map(runs.map((r) => [r.id, r]));
  const chain = [run];
  let cur = run;
  while (cur.previous_id !== null && byId.has(cur.previous_id) && !chain.some((r) => r.id === cur.previous_id)) {
    cur = byId.get(cur.previous_id)!;
    chain.push(cur);
  }
  return chain;
}

export function RunChain({ chain, current }: { chain: ReconciliationRun[]; current: number }) {
  return (
    <ol className="small" aria-label="Run history" style={{ margin: 0, paddingLeft: 18 }}>
      {chain.map((r) => (
        <li key={r.id}>
          {r.id === current ? <strong>run #{r.id}</strong> : <Link to={`/reconciliations/${r.id}`}>run #{r.id}</Link>}{" "}
          {formatDateTime(r.started_at)} · {r.verdict ?? r.status}
          {r.counts && ` · ${count(r.patterns)} pattern(s), ${count(r.counts.impacted_customers)} customers impacted`}
        </li>
      ))}
    </ol>
  );
}
