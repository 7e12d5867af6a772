// The signal approval queue: actions proposed for raised patterns, with why each needs an approval;
// engineers decide and run them (dry run first), PMs read; each row opens its audit trail.
import { Link, useSearchParams } from "react-router";
import { useSignalProposals } from "../api/hooks";
import type { SignalProposalStatus } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { ProposalsTable } from "../components/signals/Proposals";
import { Empty, QueryState } from "../components/States";
import { humanize } from "../lib/format";

const STATUSES = ["proposed", "approved", "rejected", "executed", "all"] as const;

export function SignalApprovalsPage() {
  const [params, setParams] = useSearchParams();
  const raw = params.get("status") ?? "proposed";
  const status = (STATUSES as readonly string[]).includes(raw) ? (raw as (typeof STATUSES)[number]) : "proposed";
  const { canWrite } = useAuth();
  const q = useSignalProposals({ status: status === "all" ? undefined : (status as SignalProposalStatus) });
  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <div className="small"><Link to="/signals">← Signals</Link></div>
          <h1>Signal approvals</h1>
          <div className="sub">
            Actions proposed for raised signal patterns. {canWrite ? "Approve, or reject with a reason; runs are dry runs unless you choose Run. Every step is audited." : "Read-only for your role."}
          </div>
        </div>
      </div>
      <section className="card">
        <div className="filters">
          <div className="seg" role="group" aria-label="Filter by status">
            {STATUSES.map((s) => (
              <button key={s} aria-pressed={status === s} onClick={() => setParams({ status: s }, { replace: true })}>
                {s === "proposed" ? "Waiting" : humanize(s)}
              </button>
            ))}
          </div>
          <span className="spacer" />
          {q.data && <span className="small muted">{q.data.count} proposal{q.data.count === 1 ? "" : "s"}</span>}
        </div>
        <QueryState query={q} empty={(d) => (d.data.length ? null : <Empty title={status === "proposed" ? "Nothing waiting for approval" : "No proposals here"}>Proposals come from signal analyses.</Empty>)}>
          {(d) => <ProposalsTable rows={d.data} label="Signal proposals" />}
        </QueryState>
      </section>
    </div>
  );
}
