// Incidents: filters (metric, status, severity, time) live in the URL; engineers change status inline.
import { Link, useNavigate, useSearchParams } from "react-router";
import { useIncidents } from "../api/hooks";
import type { IncidentFilters, IncidentStatus, Severity } from "../api/types";

const STATUSES: IncidentStatus[] = ["open", "acknowledged", "resolved", "dismissed"];
const SEVERITIES: Severity[] = ["critical", "high", "medium", "low"];
const oneOf = <T extends string>(v: string | null, allowed: T[]): T | undefined =>
  allowed.includes(v as T) ? (v as T) : undefined;
import { SeverityBadge } from "../components/Badges";
import { Empty, QueryState } from "../components/States";
import { scopeWords } from "../components/incident/Symptoms";
import { StatusControl } from "../components/StatusControl";
import { formatCause, formatDateTime, formatPct, formatSlice, humanize } from "../lib/format";
import { useCurrentWorkspace } from "../lib/workspace";

const PAGE = 50;

export function IncidentsPage() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const { workspace } = useCurrentWorkspace();
  const offset = Number(params.get("offset") ?? 0) || 0;
  const filters: IncidentFilters = {
    metric: params.get("metric") ?? undefined,
    status: oneOf(params.get("status"), STATUSES),
    severity: oneOf(params.get("severity"), SEVERITIES),
    since: params.get("since") ?? undefined,
    limit: PAGE,
    offset,
  };
  const q = useIncidents(filters);
  const set = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    if (k !== "offset") next.delete("offset");
    setParams(next, { replace: true });
  };
  const anyFilter = ["metric", "status", "severity", "since"].some((k) => params.get(k));

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Incidents</h1>
          <div className="sub">Regressions the detectors found, localized and explained. Newest first.</div>
        </div>
      </div>
      <section className="card">
        <form className="filters" aria-label="Filter incidents" onSubmit={(e) => e.preventDefault()}>
          <div className="field">
            <label htmlFor="f-metric">Metric</label>
            <select id="f-metric" value={filters.metric ?? ""} onChange={(e) => set("metric", e.target.value)}>
              <option value="">All metrics</option>
              {(workspace?.metrics ?? []).map((m) => (
                <option key={m.name} value={m.name}>{humanize(m.name)}</option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-status">Status</label>
            <select id="f-status" value={filters.status ?? ""} onChange={(e) => set("status", e.target.value)}>
              <option value="">Any status</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>{humanize(s)}</option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-severity">Severity</label>
            <select id="f-severity" value={filters.severity ?? ""} onChange={(e) => set("severity", e.target.value)}>
              <option value="">Any severity</option>
              {SEVERITIES.map((s) => (
                <option key={s} value={s}>{humanize(s)}</option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-since">Active since</label>
            <input id="f-since" type="date" value={filters.since?.slice(0, 10) ?? ""} onChange={(e) => set("since", e.target.value)} />
          </div>
          {anyFilter && (
            <button type="button" className="btn ghost" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
              Clear filters
            </button>
          )}
          <span className="spacer" />
          {q.data && <span className="small muted" aria-live="polite">{q.data.count} incident{q.data.count === 1 ? "" : "s"}</span>}
        </form>
        <QueryState
          query={q}
          empty={(d) =>
            d.data.length ? null : (
              <Empty title={anyFilter ? "No incidents match these filters" : "No incidents yet"}>
                {anyFilter ? "Clear a filter to see more." : "Run the detection job (cxw analyze) to find regressions."}
              </Empty>
            )
          }
        >
          {(d) => (
            <div className="table-wrap">
              <table className="tbl" aria-label="Incidents">
                <thead>
                  <tr>
                    <th>#</th>
                    <th>Severity</th>
                    <th>Metric</th>
                    <th>Where</th>
                    <th className="r">Change</th>
                    <th>Window</th>
                    <th>Likely cause</th>
                    <th>Status</th>
                  </tr>
                </thead>
                <tbody>
                  {d.data.map((i) => (
                    <tr key={i.id} className="clickable" data-has-cause={i.top_cause ? "true" : "false"} onClick={() => navigate(`/incidents/${i.id}`)}>
                      <td className="faint num">{i.id}</td>
                      <td><SeverityBadge severity={i.severity} /></td>
                      <td>
                        <Link to={`/incidents/${i.id}`} onClick={(e) => e.stopPropagation()} style={{ fontWeight: 600 }}>
                          {humanize(i.metric)}
                        </Link>
                        {(i.symptom_metrics ?? []).length > 1 && (
                          <div className="small faint" data-testid="also-moved">
                            also {(i.symptom_metrics ?? []).filter((m) => m !== i.metric).map(humanize).join(", ")}
                          </div>
                        )}
                      </td>
                      <td className="small">{i.scope ? scopeWords(i.scope.split(";")) : formatSlice(i.slice)}</td>
                      <td className={`r num ${(i.relative_change ?? 0) < 0 === (i.direction === "down") ? "" : ""}`}>{formatPct(i.relative_change)}</td>
                      <td className="small muted">
                        {formatDateTime(i.start)} → {formatDateTime(i.end)}
                      </td>
                      <td className="small">
                        {i.top_cause ? formatCause(i.top_cause) : <span className="faint">—</span>}
                        {i.top_confidence != null && <span className="faint"> · {Math.round(i.top_confidence * 100)}%</span>}
                      </td>
                      <td onClick={(e) => e.stopPropagation()}>
                        <StatusControl id={i.id} status={i.status} compact />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </QueryState>
        {q.data && q.data.count > PAGE && (
          <div className="row" style={{ padding: "10px 16px", borderTop: "1px solid var(--border)" }}>
            <span className="small muted">
              {offset + 1}–{Math.min(offset + PAGE, q.data.count)} of {q.data.count}
            </span>
            <span className="spacer" />
            <button className="btn small" disabled={offset === 0} onClick={() => set("offset", String(Math.max(0, offset - PAGE)))}>Previous</button>
            <button className="btn small" disabled={offset + PAGE >= q.data.count} onClick={() => set("offset", String(offset + PAGE))}>Next</button>
          </div>
        )}
      </section>
    </div>
  );
}
