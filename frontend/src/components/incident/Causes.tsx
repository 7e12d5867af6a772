// Ranked causes with their evidence: difference-in-differences (treated vs control), SHAP attribution
// shift, timing against change events, and the refutations (placebos), each with effect, interval, p.
import { useState } from "react";
import type { Cause, ChangeEvent, Evidence, IncidentDetail } from "../../api/types";
import { ConfidenceBar, SupportBadge } from "../Badges";
import { DidChart, ShapBars, TimingChart } from "../charts/EvidenceCharts";
import { Empty } from "../States";
import { formatChange, formatInterval, formatPValue, formatSlice, humanize, type Unit } from "../../lib/format";
import { keyOf } from "../../lib/slices";

const TEST_LABELS: Record<string, string> = {
  did: "Difference-in-differences",
  event_study: "Event study",
  shap: "SHAP attribution shift",
  timing: "Timing against change events",
  scope: "Scope match",
  placebo_time: "Placebo: earlier date",
  placebo_scope: "Placebo: untouched slices",
  dose_response: "Dose-response",
};

const REFUTATION = /placebo|refut|random_common|subset/;

export function evidenceLabel(test: string): string {
  return TEST_LABELS[test] ?? humanize(test);
}

/** Evidence tests in the order a reader wants them: effect estimates, attribution, timing, then refutations. */
export function orderedEvidence(ev: Record<string, Evidence>): [string, Evidence][] {
  const order = ["did", "event_study", "shap", "timing", "scope", "dose_response"];
  return Object.entries(ev).sort(([a], [b]) => {
    const ia = REFUTATION.test(a) ? 100 : order.indexOf(a) < 0 ? 50 : order.indexOf(a);
    const ib = REFUTATION.test(b) ? 100 : order.indexOf(b) < 0 ? 50 : order.indexOf(b);
    return ia - ib || a.localeCompare(b);
  });
}

function scalarDetails(detail: Record<string, unknown> | undefined): [string, string][] {
  if (!detail) return [];
  return Object.entries(detail)
    .filter(([, v]) => v === null || ["string", "number", "boolean"].includes(typeof v))
    .slice(0, 8)
    .map(([k, v]) => [humanize(k), typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v)]);
}

function EvidenceCard({ name, ev, unit, cause, events, onset }: { name: string; ev: Evidence; unit: Unit; cause: Cause; events: ChangeEvent[]; onset: string }) {
  const test = ev.test ?? name;
  const metricUnits = /did|event_study|scope|placebo|dose/.test(test);
  const fmt = (v: number) => (metricUnits ? formatChange(v, unit) : v.toFixed(4));
  const detail = ev.detail ?? {};
  const eventName = cause.change_event;
  const timingEvents =
    test === "timing"
      ? events.filter((e) => !eventName || e.name === eventName).map((e) => ({ name: e.name, time: e.ts }))
      : [];
  const lag = typeof detail.lag_hours === "number" ? detail.lag_hours : null;
  return (
    <div className="evidence" data-testid={`evidence-${name}`}>
      <h4>
        {evidenceLabel(test)}
        {ev.supports != null && <SupportBadge supports={!!ev.supports} />}
      </h4>
      <dl className="kv">
        {ev.effect != null && (
          <>
            <dt>effect</dt>
            <dd>
              <strong>{fmt(ev.effect)}</strong> {ev.interval && <span className="muted">{formatInterval(ev.interval, fmt)}</span>}
            </dd>
          </>
        )}
        {ev.p_value != null && (
          <>
            <dt>significance</dt>
            <dd>{formatPValue(ev.p_value)}</dd>
          </>
        )}
        {scalarDetails(detail).map(([k, v]) => (
          <FragmentKV key={k} k={k} v={v} />
        ))}
      </dl>
      {(test === "did" || test === "event_study") && <DidChart detail={detail} unit={unit} />}
      {test === "shap" && <ShapBars detail={detail} highlight={cause.feature} />}
      {test === "timing" && timingEvents.length > 0 && <TimingChart onset={(detail.onset as string) ?? onset} events={timingEvents} lagHours={lag} />}
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

export function Causes({ inc, unit, events }: { inc: IncidentDetail; unit: Unit; events: ChangeEvent[] }) {
  const causes = [...inc.causes].sort((a, b) => (b.confidence ?? 0) - (a.confidence ?? 0));
  const [open, setOpen] = useState<number | null>(0);
  if (!causes.length)
    return (
      <div className="card">
        <Empty title="Inconclusive">No hypothesis in the library passed its evidence tests for this regression.</Empty>
      </div>
    );
  return (
    <section aria-label="Ranked causes">
      {causes.map((c, i) => {
        const isOpen = open === i;
        const scope = (c.scope ?? []).map(keyOf);
        return (
          <article className="cause" key={i} data-testid="cause">
            <button className="cause-head" aria-expanded={isOpen} onClick={() => setOpen(isOpen ? null : i)}>
              <span className="cause-rank" aria-hidden="true">{i + 1}</span>
              <span style={{ flex: 1, minWidth: 0 }}>
                <strong>{causeTitle(c)}</strong>
                {c.summary && <div className="small muted" style={{ marginTop: 2 }}>{c.summary}</div>}
                {scope.length > 0 && <div className="small faint">scope: {scope.map(formatSlice).join("; ")}</div>}
              </span>
              {c.confidence != null && <ConfidenceBar value={c.confidence} />}
              <span aria-hidden="true" className="faint">{isOpen ? "▾" : "▸"}</span>
            </button>
            {isOpen && (
              <div className="evidence-grid">
                {orderedEvidence(c.evidence).map(([name, ev]) => (
                  <EvidenceCard key={name} name={name} ev={ev} unit={unit} cause={c} events={events} onset={inc.start} />
                ))}
                {Object.keys(c.evidence).length === 0 && <div className="small muted">No evidence recorded.</div>}
              </div>
            )}
          </article>
        );
      })}
    </section>
  );
}
