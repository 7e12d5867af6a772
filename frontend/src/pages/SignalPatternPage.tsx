// One signal pattern: its spike and stage association, sample signals, the ranked causes with the
// evidence behind each (and the engineers' feedback on them), and the actions proposed for it.
import { Link, useParams } from "react-router";
import { useSignalPattern } from "../api/hooks";
import type { SignalPattern } from "../api/types";
import { ConfidenceBar, SeverityBadge } from "../components/Badges";
import { ProposalsTable } from "../components/signals/Proposals";
import { HourlySparkline, formatQ, formatRatio } from "../components/signals/SignalBits";
import { Empty, QueryState } from "../components/States";
import { formatDateTime, formatPct, formatPValue, humanize } from "../lib/format";

function Stage({ pattern }: { pattern: SignalPattern }) {
  const stage = pattern.stage;
  if (!stage) return <Empty title="No migration data">No migration-state updates were posted.</Empty>;
  const rate = (n: number, hours: number) => (hours > 0 ? (1000 * n) / hours : 0).toFixed(2);
  return (
    <table className="tbl" aria-label="Migration stage association">
      <thead>
        <tr>
          <th>Stage vs not yet migrated</th>
          <th className="num">Signals</th>
          <th className="num">per 1,000 merchant-hours</th>
          <th className="num">Rate ratio [95% CI]</th>
          <th className="num">p</th>
          <th className="num">q</th>
        </tr>
      </thead>
      <tbody>
        <tr>
          <td className="faint">pre (not yet migrated)</td>
          <td className="num">{stage.pre_signals}</td>
          <td className="num">{rate(stage.pre_signals, stage.pre_merchant_hours)}</td>
          <td colSpan={3} />
        </tr>
        {stage.comparisons.map((c) => (
          <tr key={c.stage} style={c.stage === stage.strongest ? { fontWeight: 600 } : undefined}>
            <td>{humanize(c.stage)}</td>
            <td className="num">{c.signals}</td>
            <td className="num">{rate(c.signals, c.merchant_hours)}</td>
            <td className="num">
              {formatRatio(c.ratio, c.unbounded)}{" "}
              <span className="faint">[{formatRatio(c.ratio_low)}, {c.unbounded ? "∞" : formatRatio(c.ratio_high)}]</span>
            </td>
            <td className="num">{formatPValue(c.p_value)}</td>
            <td className="num">{formatQ(c.q_value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Causes({ pattern }: { pattern: SignalPattern }) {
  if (!pattern.hypotheses.length) return <Empty title="Not assessed">Too few signals to weigh causes.</Empty>;
  return (
    <ol className="stack" aria-label="Likely causes">
      {pattern.hypotheses.slice(0, 4).map((h) => (
        <li key={h.id} className="card" data-testid="cause">
          <div className="row">
            <strong>{h.id === "unknown" ? "Unknown cause" : humanize(h.id)}</strong>
            <span className="spacer" />
            <ConfidenceBar value={h.confidence} />
          </div>
          <div className="small muted">{h.description}</div>
          {(h.feedback_approved ?? 0) + (h.feedback_rejected ?? 0) > 0 && (
            <div className="small" data-testid="feedback">
              Engineers' feedback: {h.feedback_approved} approved, {h.feedback_rejected} rejected → prior ×{(h.feedback_factor ?? 1).toFixed(2)}
            </div>
          )}
          {h.evidence && h.evidence.length > 0 && (
            <ul className="small">
              {h.evidence.map((e) => (
                <li key={e.name}>{e.detail} <span className="faint">(×{e.likelihood_ratio})</span></li>
              ))}
            </ul>
          )}
        </li>
      ))}
    </ol>
  );
}

export function SignalPatternPage() {
  const { id = "" } = useParams();
  const q = useSignalPattern(id);
  return (
    <QueryState query={q}>
      {(d) => {
        const p = d.pattern;
        return (
          <div className="stack">
            <div className="page-head">
              <div>
                <div className="small"><Link to="/signals">← Signals</Link></div>
                <h1>{p.label}</h1>
                <div className="sub">{p.template}</div>
              </div>
              {p.spike.raised && <SeverityBadge severity={p.severity} />}
            </div>
            <section className="card">
              <div className="row">
                <HourlySparkline hourly={p.hourly} windowFrom={0} label={`Signals per hour of ${p.label}`} />
                <span className="small">
                  {p.signals.toLocaleString()} signals · {p.merchants_affected} merchants ({formatPct(p.merchant_share, 0, false)}) ·
                  spike {p.spike.raised ? "raised" : "not raised"} {formatQ(p.spike.q_value)} among{" "}
                  {p.spike.new ? "new patterns" : "established patterns"}
                  {p.spike.start && <> from {formatDateTime(p.spike.start)}</>} · {p.spike.baseline_per_hour.toFixed(2)} → {p.spike.window_per_hour.toFixed(2)} per hour
                </span>
              </div>
            </section>
            <section className="card">
              <h2>Migration stage</h2>
              <Stage pattern={p} />
            </section>
            <section className="card">
              <h2>Likely causes</h2>
              <Causes pattern={p} />
            </section>
            <section className="card">
              <h2>Proposed actions</h2>
              {d.proposals.length ? <ProposalsTable rows={d.proposals} label="Proposed actions" /> : <Empty title="No actions proposed">Only raised patterns get proposals.</Empty>}
            </section>
            <section className="card">
              <h2>Sample signals</h2>
              <ul className="small" aria-label="Sample signals">
                {p.samples.map((s) => (
                  <li key={s.id}><span className="faint">{formatDateTime(s.ts)} · {s.merchant_id}</span> {s.text}</li>
                ))}
              </ul>
            </section>
          </div>
        );
      }}
    </QueryState>
  );
}
