// Recommendations with their expected effect and interval and their tradeoffs; engineers propose one
// for approval. The what-if form asks the engine for the counterfactual of a recommendation's parameters.
import { useState, type ChangeEvent, type FormEvent } from "react";
import { Link } from "react-router";
import { useActions, useProposeAction, useWhatIf } from "../../api/hooks";
import type { Action, IncidentDetail, Interval, Recommendation, WhatIfRun, Workspace } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { StatusBadge } from "../Badges";
import { Empty, errorMessage } from "../States";
import { formatChange, formatInterval, humanize, type Unit } from "../../lib/format";
import { isBad, unitOf } from "../../lib/series";
import { metricInfo } from "../../lib/workspace";
import { NextStepsCard } from "./NextSteps";
import { recActionId, recEffect, recParameters, recText, recTitle, recTradeoffs } from "./recs";

function EffectText({ effect, interval, unit }: { effect: number | null; interval: Interval | null; unit: Unit }) {
  if (effect == null) return null;
  const fmt = (v: number) => formatChange(v, unit);
  return (
    <span className="num">
      <strong>{fmt(effect)}</strong> {interval && <span className="muted">{formatInterval(interval, fmt)}</span>}
    </span>
  );
}

export function TradeoffChips({ rec, ws }: { rec: IncidentDetail["recommendations"][number]; ws: Workspace | undefined }) {
  const t = recTradeoffs(rec);
  if (!t.length) return null;
  return (
    <div className="tradeoffs" aria-label="Tradeoffs">
      {t.map((x) => {
        const m = metricInfo(ws, x.metric);
        const unit = x.unit ? unitOf({ type: "", unit: x.unit }) : unitOf(m ?? { type: "", unit: null, name: x.metric });
        const good = x.good ?? m?.good;
        const bad = x.effect !== 0 && isBad(x.effect < 0 ? "down" : "up", good ?? undefined);
        return (
          <span key={x.metric} className={`tradeoff ${good ? (bad ? "bad" : "good") : ""}`} title={x.interval ? formatInterval(x.interval, (v) => formatChange(v, unit)) : undefined}>
            {humanize(x.label ?? x.metric)} {formatChange(x.effect, unit)}
            {x.interval && <span className="faint"> [{formatChange(x.interval.low, unit)}, {formatChange(x.interval.high, unit)}]</span>}
          </span>
        );
      })}
    </div>
  );
}

function WhatIfResultView({ result, unit, ws }: { result: Record<string, unknown>; unit: Unit; ws?: Workspace }) {
  const impact = result.impact as { metrics?: { metric: string; change: number; interval?: Interval | null }[] } | undefined;
  if (Array.isArray(impact?.metrics)) {
    return (
      <div className="alert info" role="status" data-testid="whatif-result">
        {Array.isArray(result.changes) && <div style={{ marginBottom: 4 }}>{(result.changes as string[]).join(", ")}:</div>}
        <ul className="clean small">
          {impact!.metrics.map((m) => {
            const u = unitOf(metricInfo(ws, m.metric) ?? { type: "", unit: null, name: m.metric });
            return (
              <li key={m.metric}>
                {humanize(m.metric)} <strong>{formatChange(m.change, u)}</strong>{" "}
                {m.interval && <span className="muted">{formatInterval(m.interval, (v) => formatChange(v, u))}</span>}
              </li>
            );
          })}
        </ul>
      </div>
    );
  }
  const eff = recEffect(result as never);
  const trade = recTradeoffs(result as never);
  const summary = typeof result.summary === "string" ? result.summary : null;
  const scalars = Object.entries(result).filter(([k, v]) => typeof v === "number" && !["effect", "expected_effect"].includes(k));
  return (
    <div className="alert info" role="status" data-testid="whatif-result">
      {eff.effect != null && (
        <div>
          Expected change in {humanize(eff.metric ?? "the metric")}: <EffectText effect={eff.effect} interval={eff.interval} unit={unit} />
        </div>
      )}
      {summary && <div style={{ marginTop: 4 }}>{summary}</div>}
      {trade.length > 0 && (
        <ul className="clean small" style={{ marginTop: 6 }}>
          {trade.map((t) => (
            <li key={t.metric}>
              {humanize(t.metric)}: {formatChange(t.effect, t.unit ? unitOf({ type: "", unit: t.unit }) : unitOf({ type: "", unit: null, name: t.metric }))}
              {t.interval && <span className="muted"> {formatInterval(t.interval, (v) => formatChange(v, t.unit ? unitOf({ type: "", unit: t.unit }) : unitOf({ type: "", unit: null, name: t.metric })))}</span>}
            </li>
          ))}
        </ul>
      )}
      {eff.effect == null && !summary && scalars.length > 0 && (
        <dl className="kv">
          {scalars.map(([k, v]) => (
            <span key={k} style={{ display: "contents" }}>
              <dt>{humanize(k)}</dt>
              <dd>{(v as number).toPrecision(4)}</dd>
            </span>
          ))}
        </dl>
      )}
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

type Op = "set" | "scale" | "shift";

/** The driver change a recommendation implies: {feature, op, value, scope} from the engine, else its first parameter. */
export function whatIfDefaults(rec: Recommendation | undefined, fallbackScope: string): { feature: string; op: Op; value: string; scope: string } {
  const p = (rec?.parameters ?? {}) as Record<string, unknown>;
  const scope = typeof p.scope === "string" ? p.scope : fallbackScope;
  if (typeof p.feature === "string") {
    const op = (["set", "scale", "shift"].includes(String(p.op)) ? p.op : "set") as Op;
    return { feature: p.feature, op, value: p.value == null ? "" : String(p.value), scope };
  }
  const first = recParameters(rec ?? {}).find(([, v]) => typeof v === "number");
  return { feature: first?.[0] ?? (typeof rec?.feature === "string" ? rec.feature : ""), op: "set", value: first ? String(first[1]) : "", scope };
}

export function WhatIfForm({ inc, unit, ws }: { inc: IncidentDetail; unit: Unit; ws?: Workspace }) {
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
              <option key={i} value={i}>{recTitle(r, i)}</option>
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
          <select id="wi-op" value={form.op} onChange={(e) => setForm({ ...form, op: e.target.value as Op })}>
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
      {w.run?.status === "succeeded" && w.run.result && <WhatIfResultView result={w.run.result} unit={unit} ws={ws} />}
    </form>
  );
}

export function Recommendations({ inc, unit, ws }: { inc: IncidentDetail; unit: Unit; ws: Workspace | undefined }) {
  const { canWrite, canAdminister } = useAuth();
  const actions = useActions({ incident_id: inc.id }, canAdminister);
  const propose = useProposeAction(inc.id);
  const list = actions.data?.data ?? [];
  // an action proposed from a recommendation carries its key (the recommendation's id) and its title;
  // several recommendations may share an action id, so the title decides when it is there
  const actionFor = (r: Recommendation, i: number): Action | undefined =>
    list.find((a) => a.title === recTitle(r, i)) ?? list.find((a) => a.key === recActionId(r, i) && !inc.recommendations.some((o, j) => j !== i && recActionId(o, j) === a.key));
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
            const eff = recEffect(r);
            const effUnit = eff.metric && eff.metric !== inc.metric ? unitOf(metricInfo(ws, eff.metric)) : unit;
            const action = actionFor(r, i);
            return (
              <div className="reco" key={i} data-testid="recommendation">
                <div className="row">
                  <strong>{recTitle(r, i)}</strong>
                  <span className="spacer" />
                  {canAdminister && actions.isPending ? (
                    <span className="spinner" aria-label="Loading approval state" />
                  ) : action ? (
                    <span className="row small" data-testid="approval-state">
                      <StatusBadge status={action.status} />
                      <Link to={`/approvals?status=${action.status}`}>approval #{action.id}</Link>
                    </span>
                  ) : canWrite ? (
                    <button className="btn small" data-testid="approval-state" disabled={propose.isPending} onClick={() => propose.mutate({ recommendation: i })} aria-label={`Propose "${recTitle(r, i)}" for approval`}>
                      Propose for approval
                    </button>
                  ) : null}
                </div>
                {r.verdict && <span className={`badge ${/not|reject|avoid/.test(r.verdict) ? "no" : /test/.test(r.verdict) ? "st-pending" : "ok"}`} style={{ marginTop: 4 }}>{humanize(r.verdict)}</span>}
                {recText(r) && <p className="small muted" style={{ margin: "4px 0" }}>{recText(r)}</p>}
                {r.summary && r.title && <p className="small" style={{ margin: "4px 0" }}>{r.summary}</p>}
                {eff.effect != null && (
                  <div className="small">
                    Expected {eff.metric && eff.metric !== inc.metric ? humanize(eff.metric) : "effect"}: <EffectText effect={eff.effect} interval={eff.interval} unit={effUnit} />
                  </div>
                )}
                <TradeoffChips rec={r} ws={ws} />
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
          <WhatIfForm inc={inc} unit={unit} ws={ws} />
        </div>
      </section>
    </div>
  );
}
