// Signals: the patterns of the newest analysis of operational signals (tickets, API errors, webhook
// failures), raised ones first, with their hourly sparkline, spike, merchants, stage association and cause.
import { Link, useSearchParams } from "react-router";
import { useRunSignalAnalysis, useSignalAnalysis } from "../api/hooks";
import { ApiError } from "../api/client";
import type { SignalAnalysis } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { SeverityBadge } from "../components/Badges";
import { CauseText, HourlySparkline, StageText, formatQ } from "../components/signals/SignalBits";
import { Empty, ErrorState, Loading, errorMessage } from "../components/States";
import { formatDateTime, formatPct } from "../lib/format";

function windowStart(a: SignalAnalysis): number {
  const start = Date.parse(a.report.start);
  return Math.round((Date.parse(a.report.baseline_end) - start) / 3_600_000);
}

function Patterns({ analysis, all }: { analysis: SignalAnalysis; all: boolean }) {
  const report = analysis.report;
  const rows = all ? report.patterns : report.patterns.filter((p) => p.spike.raised);
  if (!rows.length) return <Empty title="No pattern is rising">Every pattern's rate in the window matches its baseline.</Empty>;
  const from = windowStart(analysis);
  return (
    <div className="table-wrap">
      <table className="tbl" aria-label="Signal patterns">
        <thead>
          <tr>
            <th>Pattern</th>
            <th>Signals per hour</th>
            <th>Spike</th>
            <th className="num">Signals</th>
            <th className="num">Merchants</th>
            <th>Migration stage</th>
            <th>Likely cause</th>
            <th>Severity</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((p) => (
            <tr key={p.id} data-testid="pattern-row">
              <td style={{ maxWidth: 380 }}>
                <Link to={`/signals/patterns/${p.id}`}>{p.label}</Link>
                <div className="small faint">{p.template}</div>
              </td>
              <td><HourlySparkline hourly={p.hourly} windowFrom={from} label={`Signals per hour of ${p.label}`} /></td>
              <td className="small">
                {p.spike.raised ? <strong className="bad">raised</strong> : <span className="faint">no</span>}{" "}
                <span className="faint">{formatQ(p.spike.q_value)}</span>
                <div className="faint">{p.spike.baseline_per_hour.toFixed(2)} → {p.spike.window_per_hour.toFixed(2)} /h</div>
              </td>
              <td className="num">{p.signals.toLocaleString()}</td>
              <td className="num">{p.merchants_affected} <span className="faint small">({formatPct(p.merchant_share, 0, false)})</span></td>
              <td className="small"><StageText pattern={p} /></td>
              <td className="small"><CauseText pattern={p} /></td>
              <td>{p.spike.raised ? <SeverityBadge severity={p.severity} /> : <span className="faint small">–</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function SignalsPage() {
  const [params, setParams] = useSearchParams();
  const all = params.get("show") === "all";
  const q = useSignalAnalysis();
  const run = useRunSignalAnalysis();
  const { canWrite } = useAuth();
  const none = q.error instanceof ApiError && q.error.status === 404;
  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Signals</h1>
          <div className="sub">
            Tickets, API errors and webhook failures grouped into patterns; a pattern is raised when its rate rises
            (CUSUM and z-score, false-discovery controlled across patterns).
          </div>
        </div>
        <div className="row">
          <Link className="btn small" to="/signals/approvals">Approval queue</Link>
          {canWrite && (
            <button className="btn small primary" disabled={run.isPending} onClick={() => run.mutate(7)}>
              {run.isPending ? "Analysing…" : "Run analysis"}
            </button>
          )}
        </div>
      </div>
      {run.isError && <div className="small bad" role="alert">{errorMessage(run.error)}</div>}
      <section className="card">
        {q.isPending ? (
          <Loading />
        ) : none ? (
          <Empty title="No analysis yet">Signals posted to /api/signals are analysed on demand{canWrite ? ": run an analysis" : " by an engineer"}.</Empty>
        ) : q.isError ? (
          <ErrorState error={q.error} retry={() => q.refetch()} />
        ) : (
          <>
            <div className="filters">
              <div className="seg" role="group" aria-label="Which patterns">
                <button aria-pressed={!all} onClick={() => setParams({}, { replace: true })}>Raised ({q.data.report.raised})</button>
                <button aria-pressed={all} onClick={() => setParams({ show: "all" }, { replace: true })}>All ({q.data.report.patterns.length})</button>
              </div>
              <span className="spacer" />
              <span className="small muted">
                {q.data.report.signals.toLocaleString()} signals of {q.data.report.merchants} merchants ({q.data.report.migrated} migrating) ·
                window from {formatDateTime(q.data.report.baseline_end)} · analysis #{q.data.id} by {q.data.created_by}
              </span>
            </div>
            <Patterns analysis={q.data} all={all} />
          </>
        )}
      </section>
    </div>
  );
}
