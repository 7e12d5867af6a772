// An incident the engine could not explain well enough to act on (`recommendation_status` inconclusive)
// gets no actions and no numbers: `next_steps` says what to check and which data would decide it.
import type { IncidentDetail, NextStep } from "../../api/types";

export const isInconclusive = (inc: IncidentDetail) => inc.recommendation_status === "inconclusive";

/** The checks as a numbered list: each check, then what would decide it. */
export function NextStepsList({ steps, decidesLabel = "Decided by" }: { steps: NextStep[]; decidesLabel?: string }) {
  return (
    <ol className="next-steps" aria-label="Next steps">
      {steps.map((s, i) => (
        <li key={i} data-testid="next-step">
          <div>{s.check}</div>
          <div className="small muted">
            <strong>{decidesLabel}:</strong> {s.decides}
          </div>
        </li>
      ))}
    </ol>
  );
}

/** The engineer's card on the Recommendations tab of an inconclusive incident. */
export function NextStepsCard({ inc }: { inc: IncidentDetail }) {
  return (
    <section className="card" aria-labelledby="next-steps-title" data-testid="next-steps">
      <div className="card-head">
        <h2 id="next-steps-title">Next steps</h2>
        <span className="badge st-pending">Inconclusive cause</span>
        <span className="hint">no action recommended, no impact estimated</span>
      </div>
      <div className="card-body">
        {inc.next_steps.length ? (
          <NextStepsList steps={inc.next_steps} />
        ) : (
          <p className="muted">The engine found no cause it trusts and listed no checks.</p>
        )}
      </div>
    </section>
  );
}
