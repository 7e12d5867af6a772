// A run's state: a progress bar with the step while it runs, else succeeded or failed.
import type { ReconciliationRun } from "../../api/types";

export function RunState({ run }: { run: ReconciliationRun }) {
  if (run.status !== "running") return <span className={`badge ${run.status === "succeeded" ? "ok" : "no"}`}>{run.status}</span>;
  const pct = Math.round(run.progress * 100);
  return (
    <span className="small">
      <progress max={100} value={pct} aria-label={`Run ${run.id}: ${run.step}, ${pct}%`} style={{ width: 90, verticalAlign: "middle" }} />{" "}
      {run.step} · {pct}%
    </span>
  );
}
