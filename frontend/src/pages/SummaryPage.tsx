// Summary for the PM (read-only): what happened, why, what we recommend with its tradeoffs, and how we
// will test it, in plain language built from the engine's numbers. No write controls here.
import { Link, useSearchParams } from "react-router";
import { useIncident, useIncidents } from "../api/hooks";
import { evidenceOf, type Cause, type IncidentDetail, type Workspace } from "../api/types";
import { SeverityBadge, StatusBadge } from "../components/Badges";
import { causeTitle } from "../components/incident/Causes";
import { NextStepsList } from "../components/incident/NextSteps";
import { changeSize, scopeWords } from "../components/incident/Symptoms";
import { PdfButton, planFacts } from "../components/incident/PlanPanel";
import { primaryImpact } from "../components/incident/recs";
import { TradeoffChips } from "../components/incident/Recommendations";
import { Empty, ErrorState, Loading, QueryState } from "../components/States";
import { type Unit, formatChange, formatDate, formatDateTime, formatEnd, formatInterval, formatPct, formatSlice, formatValue, humanize } from "../lib/format";
import { unitOf } from "../lib/series";
import { metricInfo, useCurrentWorkspace } from "../lib/workspace";

/**
 * The cause's evidence in a PM's words: where the change applied and how much more the metric moved
 * there than where it did not (difference-in-differences), and when it started against the change.
 * Null when the cause has no testable DiD (then the engine's own summary is shown).
 */
export function plainWhy(c: Cause, unit: Unit): string | null {
  const did = evidenceOf(c, "did");
  if (!did || did.effect == null || !did.detail.testable) return null;
  const scope = c.scope.filter((k) => k !== "*").map(formatSlice).join(" and ");
  const fmt = (v: number) => formatChange(v, unit);
  const parts = [
    `Where ${c.change_event ?? "the change"} applied${scope ? ` (${scope})` : ""}, the metric moved ${fmt(did.effect)} more than where it did not` +
      (did.interval ? ` (likely ${formatEnd(did.interval.low, fmt)} to ${formatEnd(did.interval.high, fmt)})` : "") + ".",
  ];
  // the engine states the onset against the change time (a change inside the onset's hour is "its own hour")
  const timing = evidenceOf(c, "timing");
  const onset = timing?.detail.onset_statement;
  if (onset && timing.supports) {
    parts.push(`${onset.charAt(0).toUpperCase()}${onset.slice(1)}.`);
  }
  return parts.join(" ");
}

/** The recommendations stage's tradeoff table: metric, now, expected change, likely range, per day, effect. */
function PmTable({ rows }: { rows: string[][] }) {
  const [head, ...body] = rows;
  const effectCol = head.findIndex((h) => /effect/i.test(h));
  return (
    <div className="table-wrap" style={{ marginTop: 8, border: "1px solid var(--border)", borderRadius: 6 }}>
      <table className="tbl" aria-label="Expected effect on every metric">
        <thead>
          <tr>{head.map((h, i) => <th key={i} className={i > 0 ? "r" : undefined}>{h}</th>)}</tr>
        </thead>
        <tbody>
          {body.map((r, i) => (
            <tr key={i}>
              {r.map((c, j) => (
                <td key={j} className={`${j > 0 ? "r num" : ""} ${j === effectCol ? (c === "worse" ? "bad" : c === "better" ? "good" : "") : ""}`}>{j === 0 ? humanize(c.replace(/ /g, "_")) : c}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function IncidentSummaryView({ inc, ws }: { inc: IncidentDetail; ws: Workspace | undefined }) {
  const unit = unitOf(metricInfo(ws, inc.metric));
  const top = [...inc.causes].sort((a, b) => b.confidence - a.confidence)[0];
  const slice = inc.slices[0];
  const [lead, ...others] = inc.symptoms;
  const scope = inc.measured_in.filter((k) => k !== "*");
  const plan = inc.experiment_plan;
  const moved = inc.direction === "down" ? "fell" : "rose";
  return (
    <article className="card" aria-labelledby="sum-title" data-testid="pm-summary">
      <div className="card-head">
        <h2 id="sum-title">
          {humanize(inc.metric)} {moved} {changeSize(inc, unit)}
        </h2>
        <SeverityBadge severity={inc.severity} />
        <StatusBadge status={inc.status} />
        <span className="spacer" />
        <Link className="small" to={`/incidents/${inc.id}`}>Engineer's view</Link>
      </div>
      {inc.pm_summary && (
        <div className="summary-block prose" style={{ background: "var(--primary-weak)" }}>
          <h3>In short</h3>
          <p style={{ margin: 0 }}>{inc.pm_summary}</p>
        </div>
      )}
      <div className="summary-block prose">
        <h3>What happened</h3>
        <p>
          {humanize(inc.metric)} {moved} from <strong>{formatValue(inc.baseline, unit)}</strong> to{" "}
          <strong>{formatValue(inc.current, unit)}</strong> ({formatChange(lead?.change ?? (inc.current ?? 0) - (inc.baseline ?? 0), unit)}) starting{" "}
          {formatDateTime(lead?.onset_used ?? inc.start)}
          {scope.length ? <> in {scopeWords(scope)}</> : inc.slice && inc.slice !== "*" ? <> in {formatSlice(inc.slice)}</> : null}.
          {others.length > 0 && <> The same cause moved {others.map((s) => humanize(s.metric)).join(", ")} too.</>}
          {slice && slice.slice !== "*" && (
            <>
              {" "}Most of the change comes from <strong>{formatSlice(slice.slice)}</strong>
              {slice.share != null && <> ({formatPct(slice.share, 0, false)} of it)</>}.
            </>
          )}
        </p>
      </div>
      <div className="summary-block prose">
        <h3>Why</h3>
        {top && inc.recommendation_status === "inconclusive" ? (
          <p>
            The leading candidate is <strong>{causeTitle(top)}</strong> (confidence {Math.round(top.confidence * 100)}%), but the evidence is not strong enough to act on.
          </p>
        ) : top ? (
          <p>
            The most likely cause is <strong>{causeTitle(top)}</strong> (confidence {Math.round(top.confidence * 100)}%).{" "}
            {plainWhy(top, unit) ?? top.summary}
          </p>
        ) : (
          <p>The evidence is inconclusive: no hypothesis passed its tests. Engineers are investigating.</p>
        )}
        {inc.causes.length > 1 && <p className="small muted">{inc.causes.length - 1} other possible cause(s) were weighed and ranked lower.</p>}
      </div>
      <div className="summary-block prose">
        <h3>What we recommend</h3>
        {inc.recommendations.length ? (
          <ul className="clean">
            {inc.recommendations.map((r, i) => {
              const e = primaryImpact(r);
              const u = e && e.metric !== inc.metric ? unitOf({ type: e.type, unit: e.unit, name: e.metric }) : unit;
              return (
                <li key={i} style={{ marginBottom: 10 }}>
                  <strong>{r.title}</strong>
                  {e && e.change != null && (
                    <>
                      {" "}— expected {humanize(e.metric)} {formatChange(e.change, u)}{" "}
                      <span className="muted small">({formatInterval(e.interval, (v) => formatChange(v, u))})</span>
                    </>
                  )}
                  {r.action.description && <div className="small muted">{r.action.description}</div>}
                  <TradeoffChips rec={r} />
                  {i === 0 && inc.pm_table.length > 1 && <PmTable rows={inc.pm_table} />}
                </li>
              );
            })}
          </ul>
        ) : inc.recommendation_status === "inconclusive" ? (
          <div data-testid="summary-next-steps">
            <p>
              <strong>No action yet.</strong> The analysis could not pin down the cause firmly enough to recommend a change
              or estimate its effect. Next steps:
            </p>
            {inc.next_steps.length ? <NextStepsList steps={inc.next_steps} decidesLabel="What would settle it" /> : <p className="muted">None listed yet.</p>}
          </div>
        ) : inc.recommendation_status === "no_action" ? (
          <p className="muted" data-testid="summary-no-action">
            No action recommended: none of the changes the engine knows how to suggest fits this cause.
          </p>
        ) : (
          <p className="muted">No action recommended yet.</p>
        )}
      </div>
      <div className="summary-block prose">
        <div className="row" style={{ marginBottom: 6 }}>
          <h3>How we will test it</h3>
          <span className="spacer" />
          {plan && <PdfButton incidentId={inc.id} />}
        </div>
        {plan ? (
          <>
            <p>{plan.hypothesis}</p>
            <p className="small muted">{planFacts(plan).map(([k, v]) => `${k}: ${v}`).join(" · ")}</p>
          </>
        ) : inc.recommendation_status === "inconclusive" ? (
          <p className="muted">Nothing to test until the next steps above settle the cause.</p>
        ) : (
          <p className="muted">No experiment planned for this incident.</p>
        )}
      </div>
    </article>
  );
}

function Selected({ id, ws }: { id: number; ws: Workspace | undefined }) {
  const q = useIncident(id);
  if (q.isPending) return <div className="card"><Loading /></div>;
  if (q.isError) return <div className="card"><ErrorState error={q.error} retry={() => void q.refetch()} /></div>;
  return <IncidentSummaryView inc={q.data} ws={ws?.id === q.data.workspace_id ? ws : undefined} />;
}

export function SummaryPage() {
  const [params, setParams] = useSearchParams();
  const { workspace } = useCurrentWorkspace();
  const list = useIncidents({ limit: 100 });
  const incidents = [...(list.data?.data ?? [])].sort((a, b) => {
    const active = (s: string) => (s === "open" || s === "acknowledged" ? 0 : 1);
    const sev = ["critical", "high", "medium", "low"];
    return active(a.status) - active(b.status) || sev.indexOf(a.severity) - sev.indexOf(b.severity) || b.id - a.id;
  });
  const selected = Number(params.get("incident") ?? incidents[0]?.id);

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Summary</h1>
          <div className="sub">What regressed, why, what we recommend and the tradeoffs — in plain language.</div>
        </div>
      </div>
      <div className="grid" style={{ gridTemplateColumns: "300px minmax(0, 1fr)", alignItems: "start" }}>
        <section className="card" aria-labelledby="sum-list-title">
          <div className="card-head">
            <h2 id="sum-list-title">Incidents</h2>
          </div>
          <QueryState query={list} empty={(d) => (d.data.length ? null : <Empty title="No incidents">Nothing to report.</Empty>)}>
            {() => (
              <ul className="clean" style={{ listStyle: "none", padding: 0, margin: 0 }}>
                {incidents.map((i) => (
                  <li key={i.id}>
                    <button
                      className="btn ghost"
                      aria-current={i.id === selected ? "true" : undefined}
                      onClick={() => setParams({ incident: String(i.id) }, { replace: true })}
                      style={{ width: "100%", borderRadius: 0, justifyContent: "flex-start", padding: "10px 14px", borderBottom: "1px solid var(--border)", background: i.id === selected ? "var(--primary-weak)" : undefined, textAlign: "left" }}
                    >
                      <span style={{ minWidth: 0 }}>
                        <span className="row" style={{ gap: 6 }}>
                          <SeverityBadge severity={i.severity} />
                          <strong>{humanize(i.metric)}</strong>
                          <span className="num">{formatPct(i.relative_change)}</span>
                        </span>
                        <span className="small muted" style={{ display: "block", marginTop: 2 }}>
                          {formatSlice(i.slice)} · {formatDate(i.start)} · {humanize(i.status)}
                        </span>
                      </span>
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </QueryState>
        </section>
        {Number.isFinite(selected) ? <Selected id={selected} ws={workspace} /> : list.isPending ? null : <div className="card"><Empty title="Pick an incident" /></div>}
      </div>
    </div>
  );
}
