// Proposed actions for signal patterns: an engineer approves (optional reason) or rejects (reason
// required), then runs the tool as a dry run or for real; each row can show its audit trail.
import { Fragment, useState } from "react";
import { useAudit, useDecideSignalProposal, useExecuteSignalProposal } from "../../api/hooks";
import type { SignalProposal } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { SeverityBadge, StatusBadge } from "../Badges";
import { errorMessage } from "../States";
import { formatDateTime, formatPct, humanize } from "../../lib/format";

function Decide({ p }: { p: SignalProposal }) {
  const m = useDecideSignalProposal();
  const [reason, setReason] = useState("");
  return (
    <div className="row" style={{ flexWrap: "nowrap" }}>
      <label className="visually-hidden" htmlFor={`r-${p.id}`}>Reason for proposal {p.id}</label>
      <input id={`r-${p.id}`} placeholder="Reason (required to reject)" value={reason} onChange={(e) => setReason(e.target.value)} style={{ width: 200 }} />
      <button className="btn small good" disabled={m.isPending} onClick={() => m.mutate({ id: p.id, decision: "approve", reason })} aria-label={`Approve proposal ${p.id}: ${p.action}`}>
        Approve
      </button>
      <button className="btn small danger" disabled={m.isPending || !reason.trim()} onClick={() => m.mutate({ id: p.id, decision: "reject", reason })} aria-label={`Reject proposal ${p.id}: ${p.action}`}>
        Reject
      </button>
      {m.isError && <span className="small bad" role="alert">{errorMessage(m.error)}</span>}
    </div>
  );
}

function Execute({ p }: { p: SignalProposal }) {
  const m = useExecuteSignalProposal();
  return (
    <div className="row" style={{ flexWrap: "nowrap" }}>
      <button className="btn small" disabled={m.isPending} onClick={() => m.mutate({ id: p.id, dryRun: true })} aria-label={`Dry run proposal ${p.id}`}>
        Dry run
      </button>
      {p.status === "approved" && (
        <button className="btn small primary" disabled={m.isPending} onClick={() => m.mutate({ id: p.id, dryRun: false })} aria-label={`Run proposal ${p.id} for real`}>
          Run
        </button>
      )}
      {m.isError && <span className="small bad" role="alert">{errorMessage(m.error)}</span>}
    </div>
  );
}

function Trail({ id }: { id: number }) {
  const q = useAudit({ entity_type: "signal_proposal", entity_id: String(id), limit: 50 });
  if (q.isPending) return <div className="small faint">Loading the audit trail…</div>;
  if (q.isError) return <div className="small bad">{errorMessage(q.error)}</div>;
  return (
    <ol className="small" aria-label={`Audit trail of proposal ${id}`}>
      {[...q.data.data].reverse().map((e) => (
        <li key={e.id}>
          {formatDateTime(e.at)} · <strong>{e.action.replace("signal_proposal.", "")}</strong> by {e.actor}
          {e.after && typeof e.after === "object" && "reason" in e.after && e.after.reason ? <span className="muted"> — “{String(e.after.reason)}”</span> : null}
        </li>
      ))}
    </ol>
  );
}

/** What a run sent, or a dry run would send: the tool, where to, and the message itself. */
function ToolResult({ result }: { result: Record<string, unknown> }) {
  if (typeof result.tool !== "string") return null;
  const url = typeof result.url === "string" ? result.url : null;
  const note = typeof result.note === "string" ? result.note : null;
  const where = url ? `to ${result.tool} at ${url}` : note ? `to ${result.tool} (no URL configured)` : `${result.tool}, kept here`;
  return (
    <details className="small">
      <summary>{result.dry_run ? "would send" : "sent"} {where}</summary>
      {note && <div className="muted">{note}</div>}
      <pre className="small" style={{ whiteSpace: "pre-wrap", maxWidth: 360 }}>{JSON.stringify(result.body, null, 1)}</pre>
    </details>
  );
}

export function ProposalsTable({ rows, label }: { rows: SignalProposal[]; label: string }) {
  const { canWrite, canAdminister } = useAuth();
  const [open, setOpen] = useState<number | null>(null);
  return (
    <div className="table-wrap">
      <table className="tbl" aria-label={label}>
        <thead>
          <tr>
            <th>#</th>
            <th>Action</th>
            <th>Cause</th>
            <th className="num">Risk</th>
            <th>Why approval</th>
            <th>Status</th>
            <th>{canWrite ? "Decide / run" : "Decision"}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((p) => (
            <Fragment key={p.id}>
              <tr data-testid="proposal-row">
                <td className="faint num">{p.id}</td>
                <td style={{ maxWidth: 300 }}>
                  <strong>{humanize(p.action)}</strong> <span className="faint small">({p.tool})</span>
                  <div className="small muted">{p.pattern_label}</div>
                </td>
                <td className="small">{humanize(p.hypothesis)} <span className="faint">{formatPct(p.confidence, 0, false)}</span></td>
                <td className="num">{p.risk.toFixed(2)} <SeverityBadge severity={p.severity} /></td>
                <td className="small">{p.reasons.length ? p.reasons.join("; ") : <span className="faint">may run alone</span>}</td>
                <td>
                  <StatusBadge status={p.status} />
                  {p.result && <div className="small faint">{p.result.dry_run ? "dry run" : "ran"}</div>}
                  {p.result && <ToolResult result={p.result} />}
                </td>
                <td className="small">
                  {p.status === "proposed" ? (
                    canWrite ? <Decide p={p} /> : <span className="faint">waiting for an engineer</span>
                  ) : (
                    <>
                      {p.decided_by} <span className="faint">{formatDateTime(p.decided_at)}</span>
                      {p.reason && <div className="muted">“{p.reason}”</div>}
                      {canWrite && (p.status === "approved" || p.status === "executed") && <Execute p={p} />}
                    </>
                  )}
                  {canAdminister && (
                    <button className="btn small ghost" aria-expanded={open === p.id} onClick={() => setOpen(open === p.id ? null : p.id)}>
                      Audit trail
                    </button>
                  )}
                </td>
              </tr>
              {open === p.id && (
                <tr>
                  <td colSpan={7}><Trail id={p.id} /></td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
    </div>
  );
}
