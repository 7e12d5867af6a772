// Overview: the headline metric (CX score) and its components over time, with incident windows and
// change events on the time axis, and the open incidents by severity.
import { useMemo } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useChanges, useIncidents, useIncidentSummary, useSeries } from "../api/hooks";
import type { IncidentPublic, MetricInfo, SeriesPoint, Severity, Workspace } from "../api/types";
import { EChart, palette, type EChartOption } from "../components/charts/EChart";
import { SeverityBadge } from "../components/Badges";
import { TimeSeriesChart, type IncidentMark } from "../components/charts/TimeSeriesChart";
import { Empty, ErrorState, Loading, QueryState } from "../components/States";
import { formatCause, formatChange, formatDateTime, formatPct, formatSlice, formatValue, humanize } from "../lib/format";
import { displayBucket, headline, isBad, resample, toChartPoints, unitOf } from "../lib/series";
import { orderedMetrics, useCurrentWorkspace } from "../lib/workspace";

const SEVERITIES: Severity[] = ["critical", "high", "medium", "low"];

/** A daily trend line without axes, for a headline card. */
function Sparkline({ points, label }: { points: SeriesPoint[]; label: string }) {
  const option = useMemo<EChartOption>(() => {
    const daily = resample(points, 24);
    return {
      animation: false,
      grid: { left: 2, right: 2, top: 4, bottom: 2 },
      xAxis: { type: "time", show: false },
      yAxis: { type: "value", show: false, scale: true },
      series: [{ type: "line", symbol: "none", data: daily.map((p) => [p.ts, p.value]), lineStyle: { width: 1.5, color: palette.primary }, areaStyle: { color: palette.primaryLight } }],
    };
  }, [points]);
  return <EChart option={option} height={38} label={label} />;
}

function KpiCard({ ws, metric, selected, onSelect }: { ws: Workspace; metric: MetricInfo; selected: boolean; onSelect: () => void }) {
  const q = useSeries(ws.id, metric.name);
  const unit = unitOf(metric);
  const h = useMemo(() => headline(q.data?.points ?? []), [q.data]);
  const bad = h.change != null && h.change !== 0 && isBad(h.change < 0 ? "down" : "up", metric.good);
  return (
    <button
      className="card kpi"
      onClick={onSelect}
      aria-pressed={selected}
      aria-label={`Show ${humanize(metric.name)} over time`}
      style={{ textAlign: "left", cursor: "pointer", font: "inherit", color: "inherit", outline: selected ? "2px solid var(--primary)" : undefined }}
    >
      <div className="label">{humanize(metric.name)}</div>
      {q.isPending ? (
        <div className="skeleton" style={{ height: 28, marginTop: 6, width: "60%" }} />
      ) : q.isError ? (
        <div className="small bad">unavailable</div>
      ) : (
        <>
          <div className="value">{formatValue(h.current, unit)}</div>
          <div className={`delta ${h.change ? (bad ? "bad" : "good") : "faint"}`}>
            {formatChange(h.change, unit)} <span className="faint">last 24 h vs prior 7 days</span>
          </div>
          <Sparkline points={q.data.points} label={`${humanize(metric.name)} trend`} />
        </>
      )}
    </button>
  );
}

function MetricChart({ ws, metric, incidents }: { ws: Workspace; metric: MetricInfo; incidents: IncidentPublic[] }) {
  const navigate = useNavigate();
  const series = useSeries(ws.id, metric.name);
  const changes = useChanges(ws.id);
  const lines = useMemo(
    () =>
      series.data
        ? [{ name: humanize(metric.name), points: toChartPoints(resample(series.data.points, displayBucket(series.data.points, series.data.grain))) }]
        : [],
    [series.data, metric.name],
  );
  const marks = useMemo<IncidentMark[]>(
    () =>
      incidents
        .filter((i) => i.metric === metric.name)
        .map((i) => ({ id: i.id, start: i.start, end: i.end, label: `#${i.id} ${formatSlice(i.slice)}`, severity: i.severity })),
    [incidents, metric.name],
  );
  // label the change events that are some incident's likely cause; the others show on hover
  const causeEvents = useMemo(
    () => incidents.map((i) => i.top_cause?.split(": ")[1]).filter((e): e is string => !!e),
    [incidents],
  );
  if (series.isPending) return <Loading height={300} />;
  if (series.isError) return <ErrorState error={series.error} retry={() => void series.refetch()} />;
  if (!series.data.points.length) return <Empty title="No data for this metric yet" />;
  return (
    <>
      <TimeSeriesChart
        lines={lines}
        unit={unitOf(metric)}
        band={false}
        incidents={marks}
        events={changes.data?.data ?? []}
        highlightEvents={causeEvents}
        height={310}
        label={`${humanize(metric.name)} over time with incident windows and change events`}
        onIncidentClick={(id) => navigate(`/incidents/${id}`)}
        testId="overview-chart"
      />
      <div className="row small faint" style={{ padding: "0 4px" }}>
        <span className="dot" style={{ background: "rgba(180,35,24,.35)" }} /> incident window (click to open)
        <span className="dot" style={{ background: "#6d4cc2", marginLeft: 12 }} /> change event
      </div>
    </>
  );
}

export function OverviewPage() {
  const [params, setParams] = useSearchParams();
  const wsq = useCurrentWorkspace();
  const ws = wsq.workspace;
  const metrics = orderedMetrics(ws);
  const metricName = params.get("metric") ?? metrics[0]?.name;
  const metric = metrics.find((m) => m.name === metricName) ?? metrics[0];
  const incidents = useIncidents({ workspace_id: ws?.id, limit: 200 });
  const summary = useIncidentSummary(ws?.id);
  const open = (incidents.data?.data ?? []).filter((i) => i.status === "open" || i.status === "acknowledged");

  if (wsq.isPending) return <Loading label="Loading workspaces…" />;
  if (wsq.isError) return <ErrorState error={wsq.error} retry={() => void wsq.refetch()} />;
  if (!ws)
    return (
      <div className="card">
        <Empty title="No workspace yet">
          Generate the demo and load it: <code>cxw generate cx …</code>, then <code>cxw analyze</code>.
        </Empty>
      </div>
    );

  const select = (name: string) => {
    const next = new URLSearchParams(params);
    next.set("metric", name);
    setParams(next, { replace: true });
  };

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Overview</h1>
          <div className="sub">
            {ws.name} · {ws.metrics.length} metrics across {ws.dimensions.map(humanize).join(", ").toLowerCase()}
          </div>
        </div>
        <Link className="btn" to="/incidents?status=open">Open incidents</Link>
      </div>

      <section aria-label="Headline metrics" className="grid" style={{ gridTemplateColumns: `repeat(${Math.min(6, metrics.length)}, minmax(0, 1fr))` }}>
        {metrics.slice(0, 6).map((m) => (
          <KpiCard key={m.name} ws={ws} metric={m} selected={m.name === metric?.name} onSelect={() => select(m.name)} />
        ))}
      </section>

      <div className="grid grid-main-side">
        <section className="card" aria-labelledby="chart-title">
          <div className="card-head">
            <h2 id="chart-title">{metric ? humanize(metric.name) : "Metric"} over time</h2>
            <span className="hint">{ws.grain === "hour" ? "6-hour buckets" : `${ws.grain}ly`} · all traffic</span>
            <span className="spacer" />
            <label className="visually-hidden" htmlFor="metric-select">Metric</label>
            <select id="metric-select" value={metric?.name ?? ""} onChange={(e) => select(e.target.value)}>
              {metrics.map((m) => (
                <option key={m.name} value={m.name}>{humanize(m.name)}</option>
              ))}
            </select>
          </div>
          <div className="card-body">{metric ? <MetricChart ws={ws} metric={metric} incidents={incidents.data?.data ?? []} /> : <Empty title="No metrics" />}</div>
        </section>

        <section className="card" aria-labelledby="open-title">
          <div className="card-head">
            <h2 id="open-title">Open incidents</h2>
            <span className="spacer" />
            <Link className="small" to="/incidents?status=open">All</Link>
          </div>
          <div className="card-body">
            <QueryState query={summary} loadingHeight={60}>
              {(s) => (
                <div className="grid grid-4" style={{ gap: 8, marginBottom: 12 }} aria-label="Open incidents by severity">
                  {SEVERITIES.map((sev) => {
                    const n = open.filter((i) => i.severity === sev).length || (incidents.data ? 0 : s.by_severity[sev] ?? 0);
                    return (
                      <Link key={sev} to={`/incidents?status=open&severity=${sev}`} className={`badge sev-${sev}`} style={{ justifyContent: "space-between", padding: "4px 8px", borderRadius: 6 }} aria-label={`${n} open ${sev} incidents`}>
                        <span>{humanize(sev)}</span>
                        <strong>{n}</strong>
                      </Link>
                    );
                  })}
                </div>
              )}
            </QueryState>
            <QueryState query={incidents} empty={() => (open.length ? null : <Empty title="No open incidents">Nothing regressed past the detectors' thresholds.</Empty>)}>
              {() => (
                <ul className="clean" style={{ listStyle: "none", padding: 0 }} aria-label="Top open incidents">
                  {[...open]
                    .sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || Math.abs(b.relative_change ?? 0) - Math.abs(a.relative_change ?? 0))
                    .slice(0, 6)
                    .map((i) => (
                      <li key={i.id} style={{ padding: "8px 0", borderBottom: "1px solid var(--border)" }}>
                        <div className="row">
                          <SeverityBadge severity={i.severity} />
                          <Link to={`/incidents/${i.id}`} style={{ fontWeight: 600 }}>
                            {humanize(i.metric)} {formatPct(i.relative_change)}
                          </Link>
                        </div>
                        <div className="small muted" style={{ marginTop: 2 }}>
                          {formatSlice(i.slice)} · since {formatDateTime(i.start)}
                        </div>
                        {i.top_cause && <div className="small faint">likely: {formatCause(i.top_cause)}</div>}
                      </li>
                    ))}
                </ul>
              )}
            </QueryState>
          </div>
        </section>
      </div>
    </div>
  );
}
