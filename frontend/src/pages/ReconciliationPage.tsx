// One reconciliation: its progress while it runs; once done, the summary (lost, unexpected and mismatched
// records with their amounts, impacted customers), mismatches by reason code (interactive chart), the
// patterns with their evidence, cause and remediation, what changed since the previous run, the run's
// history and its downloads.
import { useMemo } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { useReconciliation, useReconciliationFindings, useReconciliations } from "../api/hooks";
import type { ReconciliationRun, ReconciliationSummary } from "../api/types";
import { Empty, ErrorState, Loading } from "../components/States";
import { Downloads } from "../components/reconciliation/Downloads";
import { RunChain, RunsCompared, historyOf } from "../components/reconciliation/History";
import { Patterns } from "../components/reconciliation/Patterns";
import { RunState } from "../components/reconciliation/RunState";
import { MEASURES, ReasonChart, type ReasonMeasure } from "../components/reconciliation/ReasonChart";
import { amount, count, signedAmount, sizedAmounts } from "../components/reconciliation/format";
import { formatDateTime } from "../lib/format";

function Kpi({ label, value, detail }: { label: string; value: string; detail?: string }) {
  return (
    <div className="card kpi" role="group" aria-label={label}>
      <div className="label">{label}</div>
      <div className="value">{value}</div>
      {detail && <div className="delta muted">{detail}</div>}
    </div>
  );
}

function Summary({ s }: { s: ReconciliationSummary }) {
  const c = s.counts;
  const money = sizedAmounts(s);
  const col = money ? ` ${money.column}` : "";
  return (
    <section className="grid grid-4" aria-label="Summary">
      <Kpi label="Lost records" value={count(c.lost)} detail={money ? `${amount(money.missing)}${col} missing` : "in legacy only"} />
      <Kpi label="Unexpected records" value={count(c.unexpected)} detail={money ? `${amount(money.unexpected)}${col} added` : "in migrated only"} />
      <Kpi label="Mismatched records" value={count(c.with_differences)}
        detail={money ? `${amount(money.changed_abs)}${col} changed (net ${signedAmount(money.changed_net)})` : `of ${count(c.matched)} matched`} />
      <Kpi label="Impacted customers" value={count(c.impacted_customers)}
        detail={`${count(c.matched)} matched, ${count(c.identical)} identical`} />
    </section>
  );
}

function Findings({ run, s, runs }: { run: ReconciliationRun; s: ReconciliationSummary; runs: ReconciliationRun[] }) {
  const [params, setParams] = useSearchParams();
  const measure = (MEASURES.find(([m]) => m === params.get("measure"))?.[0] ?? "mismatches") as ReasonMeasure;
  const reason = params.get("reason");
  const show = params.get("show") ?? "all";
  const set = (k: string, v: string | null) => {
    const next = new URLSearchParams(params);
    if (v === null || v === "") next.delete(k);
    else next.set(k, v);
    setParams(next, { replace: true });
  };
  const selected = s.reasons.find((r) => r.reason === reason) ?? null;
  const findings = s.findings.filter((f) => show === "all" || f.pattern.classification === show);
  const systematic = s.findings.filter((f) => f.pattern.classification === "systematic").length;
  const chain = useMemo(() => historyOf(run, runs), [run, runs]);
  return (
    <>
      <div className={`alert ${s.verdict === "agree" ? "ok" : "info"}`}>
        {s.verdict === "agree" ? "The two sides agree." : "The two sides differ."} {count(s.counts.legacy_rows)} legacy and{" "}
        {count(s.counts.migrated_rows)} migrated records on key {s.key.join(" + ")}; {s.findings.length} pattern(s), {systematic} systematic.
      </div>
      <Summary s={s} />
      <section className="card">
        <div className="card-head">
          <h2>Mismatches by reason code</h2>
          <div className="seg" role="group" aria-label="Measure">
            {MEASURES.map(([m, label]) => (
              <button key={m} aria-pressed={measure === m} onClick={() => set("measure", m === "mismatches" ? null : m)}>{label}</button>
            ))}
          </div>
        </div>
        <div className="card-body">
          {s.reasons.length ? (
            <ReasonChart reasons={s.reasons} measure={measure} selected={selected?.reason ?? null} onSelect={(r) => set("reason", r)} />
          ) : (
            <Empty title="No mismatches">Every matched record is identical and no record is lost or unexpected.</Empty>
          )}
          {selected && (
            <div className="small" aria-live="polite" style={{ marginTop: 8 }} data-testid="selected-reason">
              <strong>{selected.reason}</strong>: {count(selected.mismatches)} mismatches in {count(selected.records)} records of{" "}
              {count(selected.customers)} customers, amount {amount(selected.amount)}
            </div>
          )}
        </div>
      </section>
      <section className="card">
        <div className="card-head">
          <h2>Patterns</h2>
          <div className="seg" role="group" aria-label="Which patterns">
            {["all", "systematic", "isolated"].map((k) => (
              <button key={k} aria-pressed={show === k} onClick={() => set("show", k === "all" ? null : k)}>{k}</button>
            ))}
          </div>
        </div>
        {findings.length ? <Patterns findings={findings} highlight={selected?.reason ?? null} /> : <Empty title={`No ${show} pattern`} />}
      </section>
      <section className="card">
        <div className="card-head"><h2>Run history</h2></div>
        <div className="card-body stack">
          {s.previous ? <RunsCompared comparison={s.previous} previousId={run.previous_id} /> : (
            <div className="small muted">This run was not compared with an earlier one.</div>
          )}
          <RunChain chain={chain} current={run.id} />
        </div>
      </section>
      <section className="card">
        <div className="card-head"><h2>Downloads</h2></div>
        <div className="card-body"><Downloads runId={run.id} summary={s} /></div>
      </section>
      <section className="card">
        <div className="card-head"><h2>Assumptions</h2></div>
        <div className="card-body">
          <ul className="small" aria-label="Assumptions" style={{ margin: 0, paddingLeft: 18 }}>
            {s.assumptions.map((a, i) => (
              <li key={i}><code>{a.file}</code>{a.column ? ` · ${a.column}` : ""}: {a.text}</li>
            ))}
          </ul>
        </div>
      </section>
    </>
  );
}

export function ReconciliationPage() {
  const id = Number(useParams().id);
  const q = useReconciliation(id);
  const findings = useReconciliationFindings(q.data);
  const runs = useReconciliations();
  if (q.isPending) return <Loading />;
  if (q.isError) return <div className="card"><ErrorState error={q.error} retry={() => q.refetch()} /></div>;
  const run = q.data;
  return (
    <div className="stack">
      <div className="page-head">
        <div>
          <div className="crumbs small"><Link to="/reconciliations">Reconciliations</Link> / run #{run.id}</div>
          <h1>{run.name}</h1>
          <div className="sub">
            {run.legacy_name} against {run.migrated_name} · started {formatDateTime(run.started_at)} by {run.actor}
            {run.finished_at && ` · finished ${formatDateTime(run.finished_at)}`}
          </div>
        </div>
        <RunState run={run} />
      </div>
      {run.status === "running" && <Loading label={`${run.step}…`} />}
      {run.status === "failed" && <div className="alert error" role="alert">The run failed: {run.error}</div>}
      {run.status === "succeeded" &&
        (findings.isPending ? <Loading label="Loading the findings…" /> : findings.isError ? (
          <div className="card"><ErrorState error={findings.error} retry={() => findings.refetch()} /></div>
        ) : (
          <Findings run={run} s={findings.data} runs={runs.data?.data ?? []} />
        ))}
    </div>
  );
}
