// The experiment plan: hypothesis, design (unit, arms, power, sample size, duration), guardrails and the
// rollout checklist, with the PDF the recommendations stage renders.
import { useState } from "react";
import { download } from "../../api/client";
import { api } from "../../api/endpoints";
import type { ExperimentPlan } from "../../api/types";
import { Empty, errorMessage } from "../States";
import { formatChange, formatDuration, formatPct, humanize } from "../../lib/format";
import { unitOf } from "../../lib/series";

/** A guardrail {metric, margin, type, reason} or a ramp step {share, days, gate} in words. */
function structured(o: Record<string, unknown>): string | null {
  if (typeof o.metric === "string" && typeof o.margin === "number") {
    const unit = unitOf({ type: String(o.type ?? ""), unit: typeof o.unit === "string" ? o.unit : null, name: o.metric });
    return `${humanize(o.metric)}: no worse than ${formatChange(o.margin, unit).replace(/^[+−±]/, "")}${o.reason ? ` (${String(o.reason)})` : ""}`;
  }
  if (typeof o.share === "number" && typeof o.gate === "string") {
    const days = typeof o.days === "number" && o.days > 0 ? ` for ${formatDuration(o.days)}` : "";
    return `${formatPct(o.share, 0, false)} treated${days}: ${o.gate}`;
  }
  return null;
}

function text(v: unknown): string {
  if (v == null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    const s = structured(o);
    if (s) return s;
    const name = o.metric ?? o.name ?? o.step ?? o.title ?? o.arm;
    const rest = Object.entries(o)
      .filter(([k, x]) => !["metric", "name", "step", "title", "arm"].includes(k) && x != null && typeof x !== "object")
      .map(([k, x]) => `${humanize(k).toLowerCase()} ${typeof x === "number" && Math.abs(x) < 1 && k !== "days" ? formatPct(x, 1, false) : String(x)}`);
    return [name ? humanize(String(name)) : "", rest.join(", ")].filter(Boolean).join(": ");
  }
  return String(v);
}

function list(v: unknown): string[] {
  if (!v) return [];
  if (Array.isArray(v)) return v.map(text).filter(Boolean);
  if (typeof v === "object") return Object.entries(v as Record<string, unknown>).map(([k, x]) => `${humanize(k)}: ${text(x)}`);
  return [text(v)];
}

export function planFacts(p: ExperimentPlan): [string, string][] {
  const rows: [string, string][] = [];
  const num = (x: unknown) => (typeof x === "number" ? x : null);
  if (p.primary_metric) rows.push(["Primary metric", humanize(String(p.primary_metric))]);
  if (p.randomization_unit) rows.push(["Randomization unit", humanize(String(p.randomization_unit))]);
  if (p.arms?.length) rows.push(["Arms", p.arms.map(text).join(" vs ")]);
  const mde = num(p.mde);
  if (mde != null) {
    const unit = unitOf({ type: String(p.metric_type ?? ""), unit: typeof p.unit_of_metric === "string" ? p.unit_of_metric : null, name: String(p.primary_metric ?? "") });
    rows.push(["Minimum detectable effect", unit === "ratio" ? (Math.abs(mde) < 1 ? formatPct(mde, 2, false) : String(mde)) : formatChange(mde, unit).replace(/^[+−±]/, "")]);
  }
  if (num(p.alpha) != null) rows.push(["Significance level", `α = ${p.alpha}`]);
  if (num(p.power) != null) rows.push(["Power", formatPct(num(p.power), 0, false)]);
  if (num(p.sample_size_per_arm) != null) rows.push(["Sample size per arm", new Intl.NumberFormat("en-US").format(num(p.sample_size_per_arm)!)]);
  if (num(p.duration_days) != null) rows.push(["Duration", formatDuration(num(p.duration_days))]);
  return rows;
}

function Steps({ title, items, bullets }: { title: string; items: string[]; bullets?: boolean }) {
  const List = bullets ? "ul" : "ol";
  return (
    <div>
      <h3 style={{ marginBottom: 4 }}>{title}</h3>
      <List className={bullets ? "clean" : undefined} style={bullets ? undefined : { margin: 0, paddingLeft: 20 }}>
        {items.map((s, i) => (
          <li key={i} style={{ margin: "3px 0" }}>{s}</li>
        ))}
      </List>
    </div>
  );
}

export function PlanView({ plan }: { plan: ExperimentPlan }) {
  const facts = planFacts(plan);
  const guardrails = list(plan.guardrails);
  const ramp = list(plan.ramp);
  const stops = list(plan.stop_criteria);
  const checklist = list(plan.checklist);
  const rollout = list(plan.rollout);
  return (
    <div className="stack" style={{ gap: 14 }}>
      {plan.hypothesis && (
        <div>
          <div className="small muted">Hypothesis</div>
          <div className="prose">{String(plan.hypothesis)}</div>
        </div>
      )}
      {facts.length > 0 && (
        <dl className="kv" aria-label="Design">
          {facts.map(([k, v]) => (
            <span key={k} style={{ display: "contents" }}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </span>
          ))}
        </dl>
      )}
      {guardrails.length > 0 && (
        <div>
          <h3 style={{ marginBottom: 4 }}>Guardrails</h3>
          <ul className="clean">{guardrails.map((g, i) => <li key={i}>{g}</li>)}</ul>
        </div>
      )}
      {typeof plan.unit_reason === "string" && <p className="small muted" style={{ margin: 0 }}>Why this unit: {plan.unit_reason}</p>}
      {ramp.length > 0 && <Steps title="Ramp" items={ramp} />}
      {stops.length > 0 && <Steps title="Stop criteria" items={stops} bullets />}
      {checklist.length > 0 && <Steps title="Checklist" items={checklist} />}
      {rollout.length > 0 && <Steps title="Rollout" items={rollout} />}
      {plan.summary && <p className="muted">{String(plan.summary)}</p>}
    </div>
  );
}

export function PdfButton({ incidentId }: { incidentId: number }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <span className="row">
      <button
        className="btn"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            await download(api.planPdfPath(incidentId), `incident-${incidentId}-plan.pdf`);
          } catch (e) {
            setError(errorMessage(e));
          } finally {
            setBusy(false);
          }
        }}
      >
        {busy ? "Preparing…" : "Download PDF"}
      </button>
      {error && <span className="small bad" role="alert">{error}</span>}
    </span>
  );
}

export function PlanPanel({ plan, incidentId, inconclusive = false }: { plan: ExperimentPlan | null; incidentId: number; inconclusive?: boolean }) {
  return (
    <section className="card" aria-labelledby="plan-title" data-testid="plan">
      <div className="card-head">
        <h2 id="plan-title">{plan?.title ? String(plan.title) : "Experiment plan"}</h2>
        <span className="spacer" />
        {plan && <PdfButton incidentId={incidentId} />}
      </div>
      <div className="card-body">
        {plan ? (
          <PlanView plan={plan} />
        ) : inconclusive ? (
          <Empty title="No experiment plan">
            The cause is inconclusive, so there is no action to test yet: see the next steps on the Recommendations tab.
          </Empty>
        ) : (
          <Empty title="No experiment plan">The engine writes one when a recommendation needs a test before rollout.</Empty>
        )}
      </div>
    </section>
  );
}
