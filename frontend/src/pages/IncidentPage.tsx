// Incident, for the ML engineer: the metric with its baseline band and change point, the slice
// drill-down, the ranked causes with evidence, recommendations with the what-if, and the plan.
import { useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { useIncident } from "../api/hooks";
import type { IncidentDetail } from "../api/types";
import { SeverityBadge } from "../components/Badges";
import { Causes, causeTitle } from "../components/incident/Causes";
import { DrillDown } from "../components/incident/DrillDown";
import { FeedbackPanel } from "../components/incident/FeedbackPanel";
import { MetricPanel } from "../components/incident/MetricPanel";
import { PlanPanel } from "../components/incident/PlanPanel";
import { Recommendations } from "../components/incident/Recommendations";
import { Symptoms, changeSize, scopeWords } from "../components/incident/Symptoms";
import { ErrorState, Loading } from "../components/States";
import { StatusControl } from "../components/StatusControl";
import { formatChange, formatDateTime, formatInterval, formatPct, formatSlice, formatValue, humanize } from "../lib/format";
import { keyOf } from "../lib/slices";
import { unitOf } from "../lib/series";
import { metricInfo, useCurrentWorkspace } from "../lib/workspace";

const TABS = [
  ["drill", "Drill-down"],
  ["causes", "Causes"],
  ["actions", "Recommendations"],
  ["plan", "Experiment plan"],
] as const;

function Facts({ inc, unit }: { inc: IncidentDetail; unit: ReturnType<typeof unitOf> }) {
  // the lead symptom's change and interval, measured where baseline and current are (the incident's scope)
  const lead = inc.symptoms[0];
  const iv = lead?.change_interval ?? inc.change_interval;
  const abs = inc.baseline != null && inc.current != null ? inc.current - inc.baseline : null;
  const top = [...inc.causes].sort((a, b) => b.confidence - a.confidence)[0];
  return (
    <dl className="kv" style={{ gridTemplateColumns: "max-content 1fr" }}>
      <dt>Baseline</dt>
      <dd>{formatValue(inc.baseline, unit)}</dd>
      <dt>Current</dt>
      <dd>{formatValue(inc.current, unit)}</dd>
      <dt>Change</dt>
      <dd>
        {abs != null && (
          <>
            <strong className="bad">{formatChange(abs, unit)}</strong>{" "}
            {iv && iv.low != null && iv.high != null && (
              <span className="muted small">{formatInterval({ low: iv.low, high: iv.high }, (v) => formatChange(v, unit))}</span>
            )}
          </>
        )}
        <div className="small muted">
          {formatPct(inc.relative_change)} relative{lead?.standard_errors != null && ` · ${lead.standard_errors} standard errors`}
        </div>
      </dd>
      <dt>Window</dt>
      <dd className="small">{formatDateTime(inc.start)} → {formatDateTime(inc.end)}</dd>
      <dt>Where</dt>
      <dd className="small">{inc.measured_in?.length ? scopeWords(inc.measured_in) : formatSlice(inc.slice)}</dd>
      <dt>First seen in</dt>
      <dd className="small">{formatSlice(inc.slice)}</dd>
      <dt>Top slices</dt>
      <dd className="small">
        {inc.slices.slice(0, 3).map((s) => (
          <div key={keyOf(s)}>
            {formatSlice(keyOf(s))} {typeof s.share === "number" && <span className="faint">({formatPct(s.share, 0, false)})</span>}
          </div>
        ))}
        {!inc.slices.length && "—"}
        {inc.slices.length > 1 && inc.shares_overlap != null && (
          <div className="faint">{inc.shares_overlap ? "the slices overlap: their shares do not add up" : "shares of the change; the rest of the traffic makes up 100%"}</div>
        )}
      </dd>
      <dt>Likely cause</dt>
      <dd className="small">{top ? `${causeTitle(top)}${top.confidence != null ? ` (${Math.round(top.confidence * 100)}%)` : ""}` : "inconclusive"}</dd>
      <dt>Seen</dt>
      <dd className="small">{inc.seen_count}× · last {formatDateTime(inc.last_seen_at)}</dd>
    </dl>
  );
}

export function IncidentPage() {
  const { id: idParam } = useParams();
  const id = Number(idParam);
  const [params, setParams] = useSearchParams();
  const tab = params.get("tab") ?? "drill";
  const q = useIncident(id);
  const { workspace } = useCurrentWorkspace();
  const [charted, setCharted] = useState<string | null>(null);

  if (!Number.isFinite(id)) return <ErrorState error={new Error("Incident ids are numbers.")} title="Not an incident" />;
  if (q.isPending) return <Loading label="Loading incident…" />;
  if (q.isError)
    return (
      <div className="card">
        <ErrorState error={q.error} retry={() => void q.refetch()} title="Could not load this incident" />
      </div>
    );
  const inc = q.data;
  const ws = workspace?.id === inc.workspace_id ? workspace : undefined;
  const unit = unitOf(metricInfo(ws, inc.metric));
  const symptoms = inc.symptoms ?? [];
  const chartMetric = charted && symptoms.some((s) => s.metric === charted) ? charted : inc.metric;
  const setTab = (t: string) => {
    const next = new URLSearchParams(params);
    next.set("tab", t);
    setParams(next, { replace: true });
  };

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <div className="crumbs">
            <Link to="/incidents">Incidents</Link> › #{inc.id}
          </div>
          <h1 className="row">
            {humanize(inc.metric)} {inc.direction === "down" ? "fell" : "rose"} {changeSize(inc, unit)}
            <SeverityBadge severity={inc.severity} />
          </h1>
          <div className="sub">
            {inc.measured_in?.length ? scopeWords(inc.measured_in) : formatSlice(inc.slice)} · since {formatDateTime(inc.start)}
            {symptoms.length > 1 && ` · one cause, ${symptoms.length} metrics moved`}
          </div>
        </div>
        <div className="row">
          <Link className="btn" to={`/summary?incident=${inc.id}`}>PM summary</Link>
          <StatusControl id={inc.id} status={inc.status} />
        </div>
      </div>

      <div className="grid grid-main-side">
        <section className="card" aria-labelledby="metric-title">
          <div className="card-head">
            <h2 id="metric-title">{humanize(chartMetric)}</h2>
            <span className="hint">{formatSlice(inc.slice)} · shaded band: baseline ± 2 sd</span>
          </div>
          <div className="card-body">
            <MetricPanel inc={inc} slice={inc.slice || "*"} metric={chartMetric} unit={unitOf(metricInfo(ws, chartMetric))} height={270} />
          </div>
        </section>
        <div className="stack">
          <section className="card" aria-labelledby="facts-title">
            <div className="card-head">
              <h2 id="facts-title">Regression</h2>
            </div>
            <div className="card-body">
              <Facts inc={inc} unit={unit} />
            </div>
          </section>
        </div>
      </div>

      {symptoms.length > 0 && (
        <section className="card" aria-labelledby="symptoms-title">
          <div className="card-head">
            <h2 id="symptoms-title">Symptoms</h2>
            <span className="hint">
              every metric this cause moved, in {inc.measured_in?.length ? scopeWords(inc.measured_in) : formatSlice(inc.slice)}, before its onset → after it
            </span>
          </div>
          <Symptoms symptoms={symptoms} ws={ws} charted={chartMetric} onChart={setCharted} />
        </section>
      )}

      <div>
        <div className="tabs" role="tablist" aria-label="Incident sections">
          {TABS.map(([key, label]) => (
            <button key={key} role="tab" id={`tab-${key}`} aria-selected={tab === key} aria-controls={`panel-${key}`} onClick={() => setTab(key)}>
              {label}
              {key === "causes" && inc.causes.length > 0 && <span className="faint"> ({inc.causes.length})</span>}
              {key === "actions" && inc.recommendations.length > 0 && <span className="faint"> ({inc.recommendations.length})</span>}
            </button>
          ))}
        </div>
        <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
          {tab === "drill" && <DrillDown inc={inc} unit={unit} />}
          {tab === "causes" && <Causes inc={inc} unit={unit} />}
          {tab === "actions" && <Recommendations inc={inc} unit={unit} />}
          {tab === "plan" && <PlanPanel plan={inc.experiment_plan} incidentId={inc.id} inconclusive={inc.recommendation_status === "inconclusive"} />}
        </div>
      </div>

      <FeedbackPanel inc={inc} />
    </div>
  );
}
