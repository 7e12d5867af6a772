// Reconciliations: every run (newest first) with its progress while it runs and its counts once done;
// engineers start a new one from uploaded files or files on the server.
import { Link } from "react-router";
import { useReconciliations } from "../api/hooks";
import type { ReconciliationRun } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { Empty, QueryState } from "../components/States";
import { RunState } from "../components/reconciliation/RunState";
import { StartForm } from "../components/reconciliation/StartForm";
import { count } from "../components/reconciliation/format";
import { formatDateTime } from "../lib/format";

function Runs({ runs }: { runs: ReconciliationRun[] }) {
  return (
    <div className="table-wrap">
      <table className="tbl" aria-label="Reconciliation runs">
        <thead>
          <tr>
            <th>Run</th>
            <th>Started</th>
            <th>State</th>
            <th>Verdict</th>
            <th className="num">Lost</th>
            <th className="num">Unexpected</th>
            <th className="num">With differences</th>
            <th className="num">Patterns (systematic)</th>
            <th className="num">Customers impacted</th>
            <th>Compared with</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} data-testid="recon-run">
              <td>
                <Link to={`/reconciliations/${r.id}`}>#{r.id} {r.name}</Link>
                <div className="small faint">{r.source === "import" ? "imported from cxw reconcile" : `${r.source} by ${r.actor}`}</div>
              </td>
              <td className="small">{formatDateTime(r.started_at)}</td>
              <td><RunState run={r} />{r.status === "failed" && <div className="small bad" style={{ maxWidth: 260 }}>{r.error}</div>}</td>
              <td>{r.verdict ?? <span className="faint">—</span>}</td>
              <td className="num">{count(r.counts?.lost)}</td>
              <td className="num">{count(r.counts?.unexpected)}</td>
              <td className="num">{count(r.counts?.with_differences)}</td>
              <td className="num">{r.patterns === null ? "—" : `${r.patterns} (${r.systematic})`}</td>
              <td className="num">{count(r.counts?.impacted_customers)}</td>
              <td>{r.previous_id ? <Link to={`/reconciliations/${r.previous_id}`}>#{r.previous_id}</Link> : <span className="faint">—</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ReconciliationsPage() {
  const q = useReconciliations();
  const { canAdminister } = useAuth();
  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Reconciliations</h1>
          <div className="sub">
            Legacy against migrated records: lost, unexpected and differing records, mismatch patterns (systematic or
            isolated), their likely cause and the customers impacted, as <code>cxw reconcile</code> computes them.
          </div>
        </div>
      </div>
      {canAdminister && (
        <section className="card">
          <div className="card-head"><h2>Start a reconciliation</h2></div>
          <div className="card-body">
            <StartForm previous={(q.data?.data ?? []).filter((r) => r.status === "succeeded")} />
          </div>
        </section>
      )}
      <section className="card">
        <QueryState
          query={q}
          empty={(d) =>
            d.data.length ? null : (
              <Empty title="No reconciliation yet">
                {canAdminister ? "Start one above, or import a cxw reconcile output with cxw reconciliations import." : "An engineer starts them."}
              </Empty>
            )
          }
        >
          {(d) => <Runs runs={d.data} />}
        </QueryState>
      </section>
    </div>
  );
}
