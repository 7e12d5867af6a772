// Ask: a question in plain language over the current workspace, answered by the engine's computation.
// Shows the answer, the question as interpreted, the assumptions and the SQL that ran (with its bound
// parameters). A follow-up ("and the week before?") sends the previous answer's intent as its context.
import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { api } from "../api/endpoints";
import type { Answer, Intent } from "../api/types";
import { Empty, ErrorState, Loading } from "../components/States";
import { useCurrentWorkspace } from "../lib/workspace";

/** A row's number as the answer shows it: rates as percentages, counts whole, other values with 2 decimals. */
export function formatAnswerValue(value: number | null | undefined, answer: Pick<Answer, "unit" | "intent">): string {
  if (value == null) return "—";
  if (answer.unit === "share") return `${(100 * value).toFixed(1)}%`;
  if (answer.intent?.measure.kind === "count") return Math.round(value).toLocaleString("en-US");
  return value.toLocaleString("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 2 });
}

export function AnswerView({ answer, onSuggestion }: { answer: Answer; onSuggestion: (q: string) => void }) {
  const compared = answer.rows.some((r) => r.previous_value != null);
  return (
    <section className="card" aria-label="Answer">
      <div className="card-body stack">
        <p className="answer-text" data-testid="answer-text">{answer.text}</p>
        {!answer.answered && answer.suggestions.length > 0 && (
          <div>
            <div className="small faint">Questions I can answer:</div>
            <ul>
              {answer.suggestions.map((s) => (
                <li key={s}>
                  <button type="button" className="btn small ghost" onClick={() => onSuggestion(s)}>{s}</button>
                </li>
              ))}
            </ul>
          </div>
        )}
        {answer.answered && (
          <>
            {answer.rows.length > 0 && (
              <div className="table-wrap">
                <table className="tbl" aria-label="Numbers">
                  <thead>
                    <tr>
                      <th>{answer.intent?.group_by ?? "Total"}</th>
                      <th className="r">Value</th>
                      <th className="r">Records</th>
                      {compared && <th className="r">Before</th>}
                      {compared && <th className="r">Change</th>}
                    </tr>
                  </thead>
                  <tbody>
                    {answer.rows.map((r, i) => (
                      <tr key={`${r.label ?? "total"}-${i}`}>
                        <td>{r.label ?? "all"}</td>
                        <td className="r num">{formatAnswerValue(r.value, answer)}</td>
                        <td className="r num">{r.records ?? "—"}</td>
                        {compared && <td className="r num">{formatAnswerValue(r.previous_value, answer)}</td>}
                        {compared && <td className="r num">{r.change == null ? "—" : formatAnswerValue(r.change, answer)}</td>}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <div>
              <h3>Interpreted as</h3>
              <p data-testid="answer-intent">{answer.interpretation}</p>
              {answer.interpreted_by === "model" && <p className="small">Interpretation chosen by the language model; check it.</p>}
            </div>
            {answer.assumptions.length > 0 && (
              <div>
                <h3>Assumptions</h3>
                <ul>{answer.assumptions.map((a) => <li key={a}>{a}</li>)}</ul>
              </div>
            )}
            <details open>
              <summary>Query that ran</summary>
              <pre className="sql" data-testid="answer-sql">{answer.query}</pre>
              {answer.parameters.length > 0 && <div className="small">Parameters: {answer.parameters.join(", ")}</div>}
            </details>
          </>
        )}
      </div>
    </section>
  );
}

export function AskPage() {
  const wsq = useCurrentWorkspace();
  const ws = wsq.workspace;
  const [question, setQuestion] = useState("");
  const [context, setContext] = useState<Intent | null>(null);
  const ask = useMutation({
    mutationFn: (body: { question: string; context: Intent | null }) =>
      api.ask({ workspace_id: ws!.id, question: body.question, context: body.context }),
    onSuccess: (answer) => {
      if (answer.answered && answer.intent) setContext(answer.intent);
    },
  });

  if (wsq.isPending) return <Loading label="Loading workspaces…" />;
  if (wsq.isError) return <ErrorState error={wsq.error} retry={() => void wsq.refetch()} />;
  if (!ws) return <div className="card"><Empty title="No workspace yet">Register a workspace to ask about it.</Empty></div>;

  const submit = (q: string, followUp: boolean) => {
    if (!q.trim()) return;
    setQuestion(q);
    ask.mutate({ question: q, context: followUp ? context : null });
  };
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    submit(question, context !== null);
  };

  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <h1>Ask</h1>
          <div className="sub">
            {ws.name} · answers are computed from the records through the workspace's metric definitions, never guessed
          </div>
        </div>
      </div>
      <form className="card" onSubmit={onSubmit} aria-label="Ask a question">
        <div className="card-body row">
          <label className="visually-hidden" htmlFor="ask-question">Question</label>
          <input id="ask-question" type="text" maxLength={500} style={{ flex: 1 }} value={question}
            placeholder="How many orders were late in region west yesterday?"
            onChange={(e) => setQuestion(e.target.value)} />
          <button type="submit" className="btn" disabled={ask.isPending || !question.trim()}>Ask</button>
          {context && (
            <button type="button" className="btn ghost" onClick={() => setContext(null)} title="The next question starts afresh">
              New topic
            </button>
          )}
        </div>
        {context && <div className="card-body small faint">Follow-up questions keep the previous question's context.</div>}
      </form>
      {ask.isPending && <Loading label="Computing…" />}
      {ask.isError && <ErrorState error={ask.error} title="Could not answer" />}
      {ask.data && !ask.isPending && <AnswerView answer={ask.data} onSuggestion={(q) => submit(q, false)} />}
    </div>
  );
}
