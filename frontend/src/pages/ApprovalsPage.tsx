// Approvals: actions proposed from recommendations (by engineers or the detection job). Engineers
// approve or reject them with a comment; everyone else sees the decisions.
import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { useActions, useDecideAction } from "../api/hooks";
import type { Action, ActionStatus } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { StatusBadge } from "../components/Badges";
import { Empty, QueryState, errorMessage } from "../components/States";
import { formatDateTime, humanize } from "../lib/format";

function Decide({ action }: { action: Action }) {
  const m = useDecideAction();
  const [comment, setComment] = useState("");
  return (
    <div className="row" style={{ flexWrap: "nowrap" }}>
      <label className="visually-hidden" htmlFor={`c-${action.id}`}>Comment on action {action.id}</label>
      <input id={`c-${action.id}`} placeholder="Comment (optional)" value={comment} onChange={(e) => setComment(e.target.value)} style={{ width: 180 }} />
      <button className="btn small good" disabled={m.isPending} onClick={() => m.mutate({ id: action.id, decision: "approve", comment })} aria-label={`Approve action ${action.id}: ${action.title}`}>
        Approve
      </button>
      <button className="btn small danger" disabled={m.isPending} onClick={() => m.mutate({ id: action.id, decision: "reject", comment })} aria-label={`Reject action ${action.id}: ${action.title}`}>
        Reject
      </button>
      {m.isError && <span className="small bad" role="alert">{errorMessage(m.error)}</span>}
    </div>
  );
}

export function ApprovalsPage() {
  const [params, setParams] = useSearchParams();
  const raw = params.get("status") ?? "proposed";
  const status = (["proposed", "approved", "rejected", "all"].includes(raw) ? raw : "proposed") as ActionStatus | "all";
  const { canWrite } = useAuth();
  const q = useActions({ status: status === "all" ? undefined : status });
  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Approvals</h1>
          <div className="sub">Actions proposed from recommendations. {canWrite ? "Approve or reject with a comment; every decision is audited." : "Read-only for your role."}</div>
        </div>
      </div>
      <section className="card">
        <div className="filters">
          <div className="seg" role="group" aria-label="Filter by status">
            {["proposed", "approved", "rejected", "all"].map((s) => (
              <button key={s} aria-pressed={status === s} onClick={() => setParams({ status: s }, { replace: true })}>
                {s === "proposed" ? "Waiting" : humanize(s)}
              </button>
            ))}
          </div>
          <span className="spacer" />
          {q.data && <span className="small muted">{q.data.count} action{q.data.count === 1 ? "" : "s"}</span>}
        </div>
        <QueryState query={q} empty={(d) => (d.data.length ? null : <Empty title={status === "proposed" ? "Nothing waiting for approval" : "No actions here"}>Engineers propose actions from an incident's recommendations.</Empty>)}>
          {(d) => (
            <div className="table-wrap">
              <table className="tbl" aria-label="Actions">
                <thead>
                  <tr>
                    <th>#</th>
                    <th>Action</th>
                    <th>Incident</th>
                    <th>Proposed</th>
                    <th>Status</th>
                    <th>{canWrite && status === "proposed" ? "Decide" : "Decision"}</th>
                  </tr>
                </thead>
                <tbody>
                  {d.data.map((a) => (
                    <tr key={a.id} data-testid="action-row">
                      <td className="faint num">{a.id}</td>
                      <td style={{ maxWidth: 420 }}>
                        <strong>{a.title}</strong>
                        {a.description && <div className="small muted">{a.description}</div>}
                      </td>
                      <td><Link to={`/incidents/${a.incident_id}?tab=actions`}>#{a.incident_id}</Link></td>
                      <td className="small">
                        {a.proposed_by} <span className="faint">({a.source})</span>
                        <div className="faint">{formatDateTime(a.created_at)}</div>
                      </td>
                      <td><StatusBadge status={a.status} /></td>
                      <td className="small">
                        {a.status === "proposed" ? (
                          canWrite ? <Decide action={a} /> : <span className="faint">waiting for an engineer</span>
                        ) : (
                          <>
                            {a.decided_by} <span className="faint">{formatDateTime(a.decided_at)}</span>
                            {a.decision_comment && <div className="muted">“{a.decision_comment}”</div>}
                          </>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </QueryState>
      </section>
    </div>
  );
}
