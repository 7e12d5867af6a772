// Audit trail: who did what to which entity, with the before and after state. Paged; filter in the URL.
import { useSearchParams } from "react-router";
import { useAudit } from "../api/hooks";
import { Empty, QueryState } from "../components/States";
import { formatDateTime, humanize } from "../lib/format";

const PAGE = 50;

function diff(before: Record<string, unknown> | null, after: Record<string, unknown> | null): string {
  if (!before && after) {
    const keys = Object.keys(after).filter((k) => ["status", "title", "role", "name", "label", "metric"].includes(k));
    return keys.map((k) => `${k}: ${String(after[k])}`).join(", ");
  }
  if (before && after) {
    const changed = Object.keys(after).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
    const shown = changed.slice(0, 4).map((k) => `${k}: ${JSON.stringify(before[k] ?? null)} → ${JSON.stringify(after[k])}`);
    return shown.join(", ") + (changed.length > 4 ? `, +${changed.length - 4} more` : "");
  }
  return "";
}

export function AuditPage() {
  const [params, setParams] = useSearchParams();
  const offset = Number(params.get("offset") ?? 0) || 0;
  const entity = params.get("entity") ?? "";
  const q = useAudit({ entity_type: entity || undefined, limit: PAGE, offset });
  const set = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    if (k !== "offset") next.delete("offset");
    setParams(next, { replace: true });
  };
  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Audit</h1>
          <div className="sub">Every change made through the API or the job, newest first.</div>
        </div>
      </div>
      <section className="card">
        <div className="filters">
          <div className="field">
            <label htmlFor="a-entity">Entity</label>
            <select id="a-entity" value={entity} onChange={(e) => set("entity", e.target.value)}>
              <option value="">Everything</option>
              {["incident", "action", "feedback", "token", "workspace", "run"].map((e) => (
                <option key={e} value={e}>{humanize(e)}</option>
              ))}
            </select>
          </div>
          <span className="spacer" />
          {q.data && <span className="small muted">{q.data.count} entries</span>}
        </div>
        <QueryState query={q} empty={(d) => (d.data.length ? null : <Empty title="No audit entries" />)}>
          {(d) => (
            <div className="table-wrap">
              <table className="tbl" aria-label="Audit trail">
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Who</th>
                    <th>Action</th>
                    <th>Entity</th>
                    <th>Change</th>
                  </tr>
                </thead>
                <tbody>
                  {d.data.map((e) => (
                    <tr key={e.id}>
                      <td className="small num" style={{ whiteSpace: "nowrap" }}>{formatDateTime(e.at)}</td>
                      <td className="small">
                        {e.actor} <span className="faint">({e.actor_role})</span>
                      </td>
                      <td><code>{e.action}</code></td>
                      <td className="small">{e.entity_type} #{e.entity_id}</td>
                      <td className="small muted" style={{ maxWidth: 480, wordBreak: "break-word" }}>{diff(e.before, e.after)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </QueryState>
        {q.data && q.data.count > PAGE && (
          <div className="row" style={{ padding: "10px 16px", borderTop: "1px solid var(--border)" }}>
            <span className="small muted">{offset + 1}–{Math.min(offset + PAGE, q.data.count)} of {q.data.count}</span>
            <span className="spacer" />
            <button className="btn small" disabled={offset === 0} onClick={() => set("offset", String(Math.max(0, offset - PAGE)))}>Previous</button>
            <button className="btn small" disabled={offset + PAGE >= q.data.count} onClick={() => set("offset", String(offset + PAGE))}>Next</button>
          </div>
        )}
      </section>
    </div>
  );
}
