// The experiment plan: hypothesis, design (unit, power, sample size, duration), guardrails and the
// rollout checklist, with the PDF the recommendations stage renders.
import { useState } from "react";
import { download } from "../../api/client";
import { api } from "../../api/endpoints";
import type { ExperimentPlan } from "../../api/types";
import { Empty, errorMessage } from "../States";
import { formatChange, formatDuration, formatPct, humanize } from "../../lib/format";
import { unitOf } from "../../lib/series";

type Guardrail = ExperimentPlan["guardrails"][number];
type RampStep = ExperimentPlan["ramp"][number];

/** A guardrail in words: the metric, how much worse it may get, and why it is watched. */
function guardrailText(g: Guardrail): string {
  const unit = unitOf({ type: g.type, unit: g.unit || null, name: g.metric });
  const margin = g.margin == null ? "—" : formatChange(g.margin, unit).replace(/^[+−±]/, "");
  return `${humanize(g.metric)}: no worse than ${margin}${g.reason ? ` (${g.reason})` : ""}`;
}

/** A ramp step in words: the share treated, for how long, and the gate to pass before the next. */
function rampText(r: RampStep): string {
  return `${formatPct(r.share, 0, false)} treated${r.days > 0 ? ` for ${formatDuration(r.days)}` : ""}: ${r.gate}`;
}

export function planFacts(p: ExperimentPlan): [string, string][] {
  const unit = unitOf({ type: p.metric_type, unit: p.unit_of_metric || null, name: p.primary_metric });
  const rows: [string, string][] = [
    ["Primary metric", humanize(p.primary_metric)],
    ["Randomization unit", humanize(p.unit_label)],
  ];
  if (p.mde != null)
    rows.push(["Minimum detectable effect", unit === "ratio" ? (Math.abs(p.mde) < 1 ? formatPct(p.mde, 2, false) : String(p.mde)) : formatChange(p.mde, unit).replace(/^[+−±]/, "")]);
  if (p.alpha != null) rows.push(["Significance level", `α = ${p.alpha}`]);
  if (p.power != null) rows.push(["Power", formatPct(p.power, 0, false)]);
  rows.push(["Sample size per arm", new Intl.NumberFormat("en-US").format(p.planned_orders_per_arm)]);
  rows.push(["Duration", formatDuration(p.planned_days)]);
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
  const guardrails = plan.guardrails.map(guardrailText);
  const ramp = plan.ramp.map(rampText);
  const stops = plan.stop_criteria;
  const checklist = plan.checklist;
  const rollout = plan.rollout;
  return (
    <div className="stack" style={{ gap: 14 }}>
      <div>
        <div className="small muted">Hypothesis</div>
        <div className="prose">{plan.hypothesis}</div>
      </div>
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
      {plan.unit_reason && <p className="small muted" style={{ margin: 0 }}>Why this unit: {plan.unit_reason}</p>}
      {ramp.length > 0 && <Steps title="Ramp" items={ramp} />}
      {stops.length > 0 && <Steps title="Stop criteria" items={stops} bullets />}
      {checklist.length > 0 && <Steps title="Checklist" items={checklist} />}
      {rollout.length > 0 && <Steps title="Rollout" items={rollout} />}
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
