// Feedback on the detection (confirmed, false alarm, expected change); feeds the detectors' tuning.
import { useState, type FormEvent } from "react";
import { useAddFeedback } from "../../api/hooks";
import type { FeedbackLabel, IncidentDetail } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { errorMessage } from "../States";
import { formatDateTime, humanize } from "../../lib/format";

const LABELS: FeedbackLabel[] = ["confirmed", "false_alarm", "expected_change"];

export function FeedbackPanel({ inc }: { inc: IncidentDetail }) {
  const { canWrite } = useAuth();
  const m = useAddFeedback(inc.id);
  const [label, setLabel] = useState<FeedbackLabel>("confirmed");
  const [comment, setComment] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    m.mutate({ label, comment }, { onSuccess: () => setComment("") });
  };
  return (
    <section className="card" aria-labelledby="fb-title">
      <div className="card-head">
        <h2 id="fb-title">Feedback</h2>
        <span className="hint">{inc.feedback.length} given</span>
      </div>
      <div className="card-body stack" style={{ gap: 10 }}>
        {inc.feedback.length > 0 && (
          <ul className="clean small" style={{ listStyle: "none", padding: 0 }}>
            {inc.feedback.map((f) => (
              <li key={f.id} style={{ marginBottom: 6 }}>
                <strong>{humanize(f.label)}</strong> <span className="faint">by {f.actor}, {formatDateTime(f.created_at)}</span>
                {f.comment && <div className="muted">{f.comment}</div>}
              </li>
            ))}
          </ul>
        )}
        {canWrite && (
          <form onSubmit={submit} className="stack" style={{ gap: 8 }} aria-label="Give feedback">
            <fieldset className="seg" style={{ border: 0, padding: 0, margin: 0 }}>
              <legend className="visually-hidden">Verdict</legend>
              {LABELS.map((l) => (
                <button type="button" key={l} aria-pressed={label === l} onClick={() => setLabel(l)}>
                  {humanize(l)}
                </button>
              ))}
            </fieldset>
            <label className="visually-hidden" htmlFor="fb-comment">Comment</label>
            <textarea id="fb-comment" placeholder="What did you find? (optional)" value={comment} onChange={(e) => setComment(e.target.value)} />
            <button className="btn" type="submit" disabled={m.isPending} style={{ alignSelf: "flex-start" }}>
              {m.isPending ? "Sending…" : "Send feedback"}
            </button>
            {m.isError && <div className="alert error" role="alert">{errorMessage(m.error)}</div>}
            {m.isSuccess && <div className="alert ok" role="status">Thanks — recorded.</div>}
          </form>
        )}
        {!canWrite && inc.feedback.length === 0 && <p className="small muted">No feedback yet.</p>}
      </div>
    </section>
  );
}
