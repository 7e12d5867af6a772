// Recommendations with their expected effect and interval and their tradeoffs; engineers propose one
// for approval. The what-if form asks the engine for the counterfactual of a recommendation's parameters.
import { useState, type ChangeEvent, type FormEvent } from "react";
import { Link } from "react-router";
import { useActions, useProposeAction, useWhatIf } from "../../api/hooks";
import type { Action, IncidentDetail, Interval, MetricImpact, Recommendation, Tradeoff, WhatIfResult, WhatIfRun } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { StatusBadge } from "../Badges";
import { Empty, errorMessage } from "../States";
import { formatChange, formatEnd, formatInterval, humanize, type Unit } from "../../lib/format";
import { isBad, unitOf } from "../../lib/series";
import { NextStepsCard } from "./NextSteps";
import { primaryImpact, sideImpacts, whatIfDefaults, type WhatIfOp } from "./recs";

const VERDICT_BADGE: Record<Tradeoff["verdict"], string> = {
  recommended: "ok",
  recommended_with_cost: "ok",
  test_first: "st-pending",
  not_recommended: "no",
  not_estimated: "no",
};

function EffectText({ effect, interval, unit }: { effect: number | null; interval: Interval | null; unit: Unit }) {
  if (effect == null) return null;
  const fmt = (v: number) => formatChange(v, unit);
  return (
    <span className="num">
      <strong>{fmt(effect)}</strong> {interval && <span className="muted">{formatInterval(interval, fmt)}</span>}
    </span>
  );
}

/** A metric's unit from the impact itself (its type and display unit). */
const impactUnit = (m: MetricImpact): Unit => unitOf({ type: m.type, unit: m.unit, name: m.metric });

export function TradeoffChips({ rec }: { rec: Recommendation }) {
  const t = sideImpacts(rec);
  if (!t.length) return null;
  return (
    <div className="tradeoffs" aria-label="Tradeoffs">
      {t.map((x) => {
        const unit = impactUnit(x);
        const change = x.change ?? 0;
        const bad = change !== 0 && isBad(change < 0 ? "down" : "up", x.good);
        return (
          <span key={x.metric} className={`tradeoff ${bad ? "bad" : "good"}`} title={formatInterval(x.interval, (v) => formatChange(v, unit))}>
            {humanize(x.metric)} {formatChange(change, unit)}
            <span className="faint"> [{formatEnd(x.interval.low, (v) => formatChange(v, unit))}, {formatEnd(x.interval.high, (v) => formatChange(v, unit))}]</span>
          </span>
        );
      })}
    </div>
  );
}

function WhatIfResultView({ result }: { result: WhatIfResult }) {
  return (
    <div className="alert info" role="status" data-testid="whatif-result">
      <div style={{ marginBottom: 4 }}>{result.changes.join(", ")}:</div>
      <ul className="clean small">
        {result.impact.metrics.map((m) => (
          <li key={m.metric}>
            {humanize(m.metric)} <EffectText effect={m.change} interval={m.interval} unit={impactUnit(m)} />
          </li>
        ))}
      </ul>
    </div>
  );
}

/** What a running what-if is doing: its stage, the fraction done and the records the stage works on. */
export function WhatIfProgress({ run }: { run: WhatIfRun | undefined }) {
  const pct = Math.round((run?.progress ?? 0) * 100);
  const stage = run?.stage ?? "starting";
  return (
    <div className="small" data-testid="whatif-progress" role="status" aria-live="polite">
      <progress max={100} value={pct} aria-label={`What-if: ${stage}, ${pct}%`} style={{ width: 120, verticalAlign: "middle" }} />{" "}
      {stage.charAt(0).toUpperCase() + stage.slice(1)} · {pct}%{run?.rows != null && <span className="muted"> · {run.rows.toLocaleString("en-US")} records</span>}
    </div>
  );
}

export function WhatIfForm({ inc }: { inc: IncidentDetail }) {
  const recs = inc.recommendations;
  const [index, setIndex] = useState(0);
  const fallbackScope = inc.slice || "*";
  const [form, setForm] = useState(() => ({ ...whatIfDefaults(recs[0], fallbackScope), windowDays: "7" }));
  const w = useWhatIf(inc.id);
  const pick = (i: number) => {
    setIndex(i);
    setForm({ ...whatIfDefaults(recs[i], fallbackScope), windowDays: form.windowDays });
    w.reset();
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const numeric = form.value.trim() !== "" && Number.isFinite(Number(form.value));
    w.start({
      changes: [{ feature: form.feature.trim(), op: form.op, value: numeric ? Number(form.value) : form.value.trim() }],
      scope: form.scope.trim() || null,
      window_days: Number(form.windowDays) > 0 ? Number(form.windowDays) : 7,
    });
  };
  const field = (k: "feature" | "value" | "scope" | "windowDays") => ({
    value: form[k],
    onChange: (e: ChangeEvent<HTMLInputElement>) => setForm({ ...form, [k]: e.target.value }),
  });

  return (
    <form className="stack" onSubmit={submit} aria-label="What-if" style={{ gap: 10 }}>
      {recs.length > 0 && (
        <div className="field">
          <label htmlFor="wi-action">Start from</label>
          <select id="wi-action" value={index} onChange={(e) => pick(Number(e.target.value))}>
            {recs.map((r, i) => (
              <option key={i} value={i}>{r.title}</option>
            ))}
          </select>
        </div>
      )}
      <div className="field">
        <label htmlFor="wi-feature">Driver</label>
        <input id="wi-feature" required placeholder="e.g. batching_threshold" {...field("feature")} />
      </div>
      <div className="row" style={{ flexWrap: "nowrap" }}>
        <div className="field" style={{ flex: 1 }}>
          <label htmlFor="wi-op">Change</label>
          <select id="wi-op" value={form.op} onChange={(e) => setForm({ ...form, op: e.target.value as WhatIfOp })}>
            <option value="set">set to</option>
            <option value="scale">scale by</option>
            <option value="shift">shift by</option>
          </select>
        </div>
        <div className="field" style={{ flex: 1 }}>
          <label htmlFor="wi-value">Value</label>
          <input id="wi-value" required {...field("value")} />
        </div>
      </div>
      <div className="field">
        <label htmlFor="wi-scope">Scope</label>
        <input id="wi-scope" placeholder="* or dim=value;dim=value" {...field("scope")} />
      </div>
      <div className="field">
        <label htmlFor="wi-window">Window (days)</label>
        <input id="wi-window" type="number" min="1" max="366" step="1" {...field("windowDays")} />
      </div>
      <button className="btn primary" type="submit" disabled={w.running || !form.feature.trim()} style={{ alignSelf: "flex-start" }}>
        {w.running ? "Computing…" : "Run what-if"}
      </button>
      {w.running && <WhatIfProgress run={w.run} />}
      {w.error && <div className="alert error" role="alert">{errorMessage(w.error)}</div>}
      {w.run?.status === "failed" && <div className="alert error" role="alert">{w.run.error ?? "The what-if failed."}</div>}
      {w.run?.status === "succeeded" && w.run.result && <WhatIfResultView result={w.run.result} />}
    </form>
  );
}

export function Recommendations({ inc, unit }: { inc: IncidentDetail; unit: Unit }) {
  const { canWrite, canAdminister } = useAuth();
  const actions = useActions({ incident_id: inc.id }, canAdminister);
  const propose = useProposeAction(inc.id);
  const list = actions.data?.data ?? [];
  // an action proposed from a recommendation carries its title (unique among the incident's recommendations)
  const actionFor = (r: Recommendation): Action | undefined => list.find((a) => a.title === r.title);
  if (!inc.recommendations.length)
    return inc.recommendation_status === "inconclusive" ? (
      <NextStepsCard inc={inc} />
    ) : (
      <div className="card" data-testid="no-recommendations">
        {inc.recommendation_status === "no_action" ? (
          <Empty title="No recommendations">The engine had no action in its catalogue for these causes.</Empty>
        ) : (
          <Empty title="No recommendations">The analysis wrote no recommendations for this incident.</Empty>
        )}
      </div>
    );
  return (
    <div className="grid grid-main-side" style={{ alignItems: "start" }}>
      <section className="card" aria-labelledby="recs-title">
        <div className="card-head">
          <h2 id="recs-title">Recommendations</h2>
          <span className="hint">expected effect on {humanize(inc.metric)} with 95% intervals</span>
        </div>
        <div className="card-body flush">
          {inc.recommendations.map((r, i) => {
            const eff = primaryImpact(r);
            const effUnit = eff && eff.metric !== inc.metric ? impactUnit(eff) : unit;
            const action = actionFor(r);
            return (
              <div className="reco" key={i} data-testid="recommendation">
                <div className="row">
                  <strong>{r.title}</strong>
                  <span className="spacer" />
                  {canAdminister && actions.isPending ? (
                    <span className="spinner" aria-label="Loading approval state" />
                  ) : action ? (
                    <span className="row small" data-testid="approval-state">
                      <StatusBadge status={action.status} />
                      <Link to={`/approvals?status=${action.status}`}>approval #{action.id}</Link>
                    </span>
                  ) : canWrite ? (
                    <button className="btn small" data-testid="approval-state" disabled={propose.isPending} onClick={() => propose.mutate({ recommendation: i })} aria-label={`Propose "${r.title}" for approval`}>
                      Propose for approval
                    </button>
                  ) : null}
                </div>
                <span className={`badge ${VERDICT_BADGE[r.tradeoff.verdict]}`} style={{ marginTop: 4 }}>{humanize(r.tradeoff.verdict)}</span>
                {r.action.description && <p className="small muted" style={{ margin: "4px 0" }}>{r.action.description}</p>}
                {r.tradeoff.summary && <p className="small" style={{ margin: "4px 0" }}>{r.tradeoff.summary}</p>}
                {eff && eff.change != null && (
                  <div className="small">
                    Expected {eff.metric !== inc.metric ? humanize(eff.metric) : "effect"}: <EffectText effect={eff.change} interval={eff.interval} unit={effUnit} />
                  </div>
                )}
                <TradeoffChips rec={r} />
              </div>
            );
          })}
          {propose.isError && <div className="alert error" role="alert" style={{ margin: 12 }}>{errorMessage(propose.error)}</div>}
        </div>
      </section>
      <section className="card" aria-labelledby="whatif-title">
        <div className="card-head">
          <h2 id="whatif-title">What if…</h2>
          <span className="hint">counterfactual with intervals</span>
        </div>
        <div className="card-body">
          <WhatIfForm inc={inc} />
        </div>
      </section>
    </div>
  );
}
