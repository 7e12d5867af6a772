// Ranked causes with their evidence: difference-in-differences (treated vs control), SHAP attribution
// shift, timing against change events, and the refutations (placebos), each with effect, interval, p.
import { useState } from "react";
import type { Cause, Evidence, IncidentDetail } from "../../api/types";
import { ConfidenceBar, SupportBadge } from "../Badges";
import { DidChart, EventStudyChart, PlaceboChart, ShapBars, TimingChart, eventStudyPeriods } from "../charts/EvidenceCharts";
import { Empty, Loading, errorMessage } from "../States";
import { formatChange, formatDateTime, formatEnd, formatInterval, formatPct, formatPValue, formatSlice, humanize, type Unit } from "../../lib/format";
import { sliceFilters } from "../../lib/slices";
import { useTreatedControl } from "../../lib/treatedControl";

const TEST_LABELS: Record<string, string> = {
  did: "Difference-in-differences",
  event_study: "Event study",
  shap: "SHAP attribution shift",
  timing: "Timing against change events",
  scope: "Scope match",
  placebo_time: "Placebo: earlier date",
  placebo_scope: "Placebo: untouched slices",
  placebo_its: "Placebo: interrupted time series",
  confirmation: "Confirmation: the change stands out",
};

/** A test's name for people; a candidate ruled out by its confidence says so. */
export function evidenceLabel(test: string): string {
  return TEST_LABELS[test] ?? humanize(test);
}

/** Evidence tests in the order a reader wants them: effect estimates, attribution, timing, then refutations. */
const ORDER: Evidence["test"][] = ["did", "event_study", "shap", "timing", "scope", "confirmation", "placebo_its", "placebo_scope", "placebo_time"];

export function orderedEvidence(ev: Cause["evidence"]): [string, Evidence][] {
  return Object.entries(ev).sort(([, a], [, b]) => ORDER.indexOf(a.test) - ORDER.indexOf(b.test));
}

const HIDDEN_DETAIL = new Set(["testable", "periods", "placebo_z", "placebo_effects", "placebo_jumps", "top_inputs", "distribution", "change_point_interval", "effect_is", "interval_is", "onset_statement"]);

function fmtDetail(v: unknown): string {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  if (typeof v === "string" && /^\d{4}-\d\d-\d\dT/.test(v)) return formatDateTime(v);
  return String(v);
}

/** The scalar numbers and words of a test's detail (its lists and nested parts have their own charts). */
function scalarDetails(detail: Evidence["detail"]): [string, string][] {
  return Object.entries(detail)
    .filter(([k, v]) => !HIDDEN_DETAIL.has(k) && v !== null && ["string", "number", "boolean"].includes(typeof v))
    .slice(0, 9)
    .map(([k, v]) => [humanize(k), fmtDetail(v)]);
}

/** How to print a test's effect: metric units for effect estimates and placebos, hours for timing, share for SHAP. */
export function effectFormatter(test: string, unit: Unit): (v: number) => string {
  if (test === "timing") return (v) => `${v > 0 ? "+" : v < 0 ? "−" : ""}${Math.abs(v).toFixed(1)} h`;
  if (test === "shap") return (v) => formatPct(v, 1, false);
  if (test === "scope") return (v) => v.toFixed(2);
  return (v) => formatChange(v, unit);
}

const EFFECT_LABEL: Record<string, string> = {
  timing: "event − change point",
  shap: "share of the change",
  scope: "overlap (Jaccard)",
  placebo_time: "real effect; placebo range",
  placebo_scope: "real effect; placebo range",
  placebo_its: "jump; placebo range",
};

/** The cause's slices (none when it reaches everything). */
export function causeScope(c: Cause): string[] {
  return c.scope.filter((k) => k !== "*");
}

function TreatedControl({ inc, cause, unit }: { inc: IncidentDetail; cause: Cause; unit: Unit }) {
  const scope = causeScope(cause);
  const tc = useTreatedControl(inc, scope);
  if (!tc.applicable) return null;
  if (tc.pending) return <Loading height={120} label="Loading treated and control series…" />;
  if (tc.error) return <div className="small bad">Treated/control series unavailable: {errorMessage(tc.error)}</div>;
  if (!tc.data) return null;
  const eventTime = cause.onset;
  return (
    <DidChart
      treated={tc.data.treated}
      control={tc.data.control}
      eventTime={eventTime}
      unit={unit}
      treatedLabel={`Treated: ${scope.map((k) => sliceFilters(k)[0][1]).join(", ")}`}
      controlLabel={`Control: other ${tc.data.dimension} values (${tc.data.controls.length})`}
    />
  );
}

/** The placebo statistics of a refutation and the real one they are compared with. */
function placebos(ev: Evidence): { real: number | null; placebos: number[] } {
  if (ev.test === "placebo_time" || ev.test === "placebo_scope") return { real: ev.detail.real_z, placebos: ev.detail.placebo_z };
  return { real: null, placebos: [] };
}

function EvidenceCard({ name, ev, unit, cause, inc }: { name: string; ev: Evidence; unit: Unit; cause: Cause; inc: IncidentDetail }) {
  const test = ev.test;
  const fmt = effectFormatter(test, unit);
  const testable = ev.detail.testable;
  const periods = ev.test === "event_study" ? eventStudyPeriods(ev) : [];
  const { real: realZ, placebos: placeboZ } = placebos(ev);
  return (
    <div className="evidence" data-testid={`evidence-${name}`} style={test === "did" || test === "event_study" ? { gridColumn: "span 1" } : undefined}>
      <h4>
        {evidenceLabel(test)}
        {!testable ? <span className="badge">not testable</span> : <SupportBadge supports={ev.supports} />}
      </h4>
      <dl className="kv">
        {ev.effect != null && (
          <>
            <dt>{EFFECT_LABEL[test] ?? "effect"}</dt>
            <dd>
              <strong>{fmt(ev.effect)}</strong>{" "}
              {ev.interval && (
                <span className="muted">
                  {test.startsWith("placebo") ? `placebos ${formatEnd(ev.interval.low, fmt)} to ${formatEnd(ev.interval.high, fmt)}` : formatInterval(ev.interval, fmt)}
                </span>
              )}
            </dd>
          </>
        )}
        {ev.p_value != null && (
          <>
            <dt>significance</dt>
            <dd>{formatPValue(ev.p_value)}</dd>
          </>
        )}
        {scalarDetails(ev.detail).map(([k, v]) => (
          <FragmentKV key={k} k={k} v={v} />
        ))}
      </dl>
      {ev.rule && (
        <p className="small" data-testid="evidence-rule">
          <span className="muted">Rule: </span>
          {ev.rule}
        </p>
      )}
      {test === "did" && testable && <TreatedControl inc={inc} cause={cause} unit={unit} />}
      {periods.length > 1 && <EventStudyChart periods={periods} unit={unit} />}
      {ev.test === "shap" && <ShapBars ev={ev} highlight={ev.detail.feature ?? cause.feature} />}
      {ev.test === "timing" && ev.detail.change_point && ev.detail.candidate_time && (
        <TimingChart
          changePoint={ev.detail.change_point}
          interval={ev.detail.change_point_interval}
          candidate={ev.detail.candidate_time}
          candidateLabel={cause.change_event ?? "candidate"}
        />
      )}
      {placeboZ.length > 1 && typeof realZ === "number" && <PlaceboChart real={realZ} placebos={placeboZ} label={`${evidenceLabel(test)}: real statistic against its placebos`} />}
    </div>
  );
}

function FragmentKV({ k, v }: { k: string; v: string }) {
  return (
    <>
      <dt>{k}</dt>
      <dd>{v}</dd>
    </>
  );
}

export function causeTitle(c: Cause): string {
  const what = c.change_event ?? c.feature;
  return what ? `${humanize(c.hypothesis)}: ${what}` : humanize(c.hypothesis);
}

/** The candidates tested and not kept, each with the test that ruled it out and that test's numbers. */
function RuledOut({ inc }: { inc: IncidentDetail }) {
  const rejected = inc.rejected ?? [];
  if (!rejected.length) return null;
  return (
    <section className="card" aria-labelledby="ruled-out-title" style={{ marginTop: 12 }}>
      <div className="card-head">
        <h3 id="ruled-out-title">Candidates ruled out ({rejected.length})</h3>
      </div>
      <div className="table-wrap">
        <table className="tbl" aria-label="Candidates ruled out">
          <thead>
            <tr>
              <th>Candidate</th>
              <th>Ruled out by</th>
              <th className="r">Confidence</th>
              <th>Why</th>
            </tr>
          </thead>
          <tbody>
            {rejected.map((r) => (
              <tr key={`${r.kind}:${r.candidate}`}>
                <td>{r.candidate} <span className="faint small">({r.kind})</span></td>
                <td>{evidenceLabel(r.ruled_out_by)}</td>
                <td className="r num">{formatPct(r.confidence, 1, false)}</td>
                <td className="small">{r.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function Causes({ inc, unit }: { inc: IncidentDetail; unit: Unit }) {
  const causes = [...inc.causes].sort((a, b) => b.confidence - a.confidence);
  const [open, setOpen] = useState<number | null>(0);
  if (!causes.length)
    return (
      <>
        <div className="card">
          <Empty title="Inconclusive">No hypothesis in the library passed its evidence tests for this regression.</Empty>
        </div>
        <RuledOut inc={inc} />
      </>
    );
  return (
    <section aria-label="Ranked causes">
      {causes.map((c, i) => {
        const isOpen = open === i;
        const scope = causeScope(c);
        return (
          <article className="cause" key={i} data-testid="cause">
            <button className="cause-head" aria-expanded={isOpen} onClick={() => setOpen(isOpen ? null : i)}>
              <span className="cause-rank" aria-hidden="true">{i + 1}</span>
              <span style={{ flex: 1, minWidth: 0 }}>
                <strong>{causeTitle(c)}</strong>
                {c.summary && <div className="small muted" style={{ marginTop: 2 }}>{c.summary}</div>}
                {scope.length > 0 && <div className="small faint">scope: {scope.map(formatSlice).join("; ")}</div>}
              </span>
              <ConfidenceBar value={c.confidence} />
              <span aria-hidden="true" className="faint">{isOpen ? "▾" : "▸"}</span>
            </button>
            {isOpen && (
              <div className="evidence-grid">
                {orderedEvidence(c.evidence).map(([name, ev]) => (
                  <EvidenceCard key={name} name={name} ev={ev} unit={unit} cause={c} inc={inc} />
                ))}
                {Object.keys(c.evidence).length === 0 && <div className="small muted">No evidence recorded.</div>}
              </div>
            )}
          </article>
        );
      })}
      <RuledOut inc={inc} />
    </section>
  );
}
