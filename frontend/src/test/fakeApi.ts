// A fake of the backend for component tests: routes by method and path, answers 401 without a valid
// token and 403 outside the role, as the real API does, and records every call.
import { vi } from "vitest";
import * as fx from "./fixtures";
import served from "./analysis-served.json";
import signalsServed from "./signals-analysis.json";
import reconServed from "./reconciliation-findings.json";
import type { ReconciliationSummary, WhatIfRequest, WhatIfResult, WhatIfRun } from "../api/types";

/** Incident 9: `cxw analyze` output of the batching demo as the real GET /api/incidents/{id} served it:
 * the batching change's one incident, its symptoms listed. */
export const analysisIncident = { ...served.owner, id: 9 };

/** The newest signal analysis: `cxw signals analyze` of a simulated migration (40 merchants, seed 3). */
export const signalAnalysis = signalsServed;
/** Its proposals as the API lists them, all waiting for a decision. */
export const signalProposals = signalsServed.report.patterns.flatMap((p) => p.proposals.map((a) => ({ pattern: p, a }))).map(({ pattern, a }, i) => ({
  id: i + 1, analysis_id: 1, pattern_id: pattern.id, pattern_label: pattern.label, hypothesis: a.hypothesis, action: a.action,
  tool: a.tool, leaves_system: a.leaves_system, confidence: a.confidence, risk: a.risk, severity: a.severity,
  merchants: a.merchants, needs_approval: a.needs_approval, reasons: a.reasons, status: "proposed", created_at: "2026-03-16T09:00:00",
  decided_by: null, decided_at: null, reason: "", executed_at: null, result: null,
}));

/** What POST …/execute keeps on a proposal, as the backend renders it with no tool URL configured (none is in
 * the tests): the tool, no URL, the JSON body and, for a tool that posts, a note that a real run is refused. */
const executed = (p: (typeof signalProposals)[number], dryRun: boolean) => {
  const outbound = p.tool === "escalation" || p.tool === "webhook_post";
  const note = outbound ? `no URL is configured for ${p.tool} (CXW_SIGNAL_TOOL_URLS): a real run would be refused` : undefined;
  return { dry_run: dryRun, tool: p.tool, url: null, format: p.tool === "doc_draft" ? "markdown" : "json",
    body: { event: "signal.action", proposal_id: p.id, action: p.action, pattern: p.pattern_label }, ...(note ? { note } : {}) };
};

/** `cxw reconcile` of a 5,000-account billing pair (run 1), and again after the product mapping was fixed,
 * compared with run 1 (run 2): the summaries as GET /api/reconciliations/{id}/findings serves them. */
export const reconciliationFindings = reconServed as unknown as { run1: ReconciliationSummary; run2: ReconciliationSummary };
const reconFindings = reconciliationFindings;
const reconRun = (id: number, s: ReconciliationSummary | null, extra: object = {}) => ({
  id, name: `billing cut-over ${id}`, source: "upload", status: "succeeded", actor: "ana", legacy_name: "legacy.csv",
  migrated_name: "migrated.csv", options: { key: ["account_id"], compare: [], tolerances: { balance: 0.01 }, reason_column: null,
    customer_column: null, amount_column: null, key_normalize: "trim,case,zeros", previous_run_id: null },
  previous_id: null, step: "done", progress: 1, started_at: `2026-03-1${id}T09:00:00`, finished_at: `2026-03-1${id}T09:00:07`,
  heartbeat_at: `2026-03-1${id}T09:00:07`, error: null, verdict: s?.verdict ?? null, counts: s?.counts ?? null,
  patterns: s ? s.findings.length : null, systematic: s ? s.findings.filter((f) => f.pattern.classification === "systematic").length : null,
  ...extra,
});
/** Runs as GET /api/reconciliations lists them, newest first: one running, two done (2 compared with 1). */
export const reconciliationRuns = [
  reconRun(3, null, { status: "running", step: "joining and comparing", progress: 0.35, finished_at: null, source: "server" }),
  reconRun(2, reconFindings.run2, { previous_id: 1 }),
  reconRun(1, reconFindings.run1),
];

export const TOKENS: Record<string, typeof fx.engineer> = { "eng-token": fx.engineer, "pm-token": fx.pm };

export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  auth: string | null;
}

type Handler = (c: Call) => { status?: number; body: unknown } | unknown;

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

/** The id of every what-if run the fake starts. */
export const WHATIF_RUN_ID = "0f".repeat(16);

/** A what-if run of an incident as GET /api/incidents/{id}/whatif/runs/{run_id} serves it. */
export const whatIfRun = (incidentId: number, state: Partial<WhatIfRun>): WhatIfRun => ({
  id: WHATIF_RUN_ID, incident_id: incidentId, status: "running", stage: "queued", progress: 0, rows: null,
  started_at: "2026-01-29T03:00:00", finished_at: null, error: null, result: null, ...state,
});

/** A what-if answer: the batching recommendation's impact with the changes asked for and its own numbers. */
export function whatIfResult(asked: Pick<WhatIfRequest, "changes"> | undefined): WhatIfResult {
  const impact = fx.incidentDetail.recommendations[0].impact;
  const numbers: Record<string, [number, number, number]> = { on_time_rate: [0.04, 0.03, 0.05], courier_minutes_per_order: [1.2, 0.9, 1.5] };
  const applied = (asked?.changes ?? []).map((x) => ({ feature: x.feature, op: x.op, value: x.value }));
  return {
    changes: applied.map((x) => `${x.feature} ${x.op} to ${x.value}`),
    impact: {
      ...impact,
      counterfactual: applied.map((x) => `${x.feature} ${x.op} to ${x.value}`).join(", "),
      changes: applied,
      metrics: impact.metrics.map((m) => {
        const [change, low, high] = numbers[m.metric];
        return { ...m, change, interval: { low, high, level: 0.95 } };
      }),
    },
    model: "lightgbm",
    sample: 5000,
    bootstrap: 30,
  };
}

export function installFakeApi(overrides: Record<string, Handler> = {}) {
  const calls: Call[] = [];
  let whatIfAsked: WhatIfRequest | undefined;
  const routes: [string, RegExp, "reader" | "engineer", Handler][] = [
    ["GET", /^\/api\/me$/, "reader", () => undefined],
    ["GET", /^\/api\/workspaces$/, "reader", () => ({ data: [fx.workspace], count: 1 })],
    ["GET", /^\/api\/workspaces\/1\/series$/, "reader", (c) => fx.series(c.query.get("metric") ?? "", c.query.get("slice") ?? "*")],
    ["GET", /^\/api\/workspaces\/1\/changes$/, "reader", () => ({ data: [{ ts: "2026-01-15T12:00:00", name: "batching_threshold_4", kind: "policy", scope: "region=east;region=west", description: "" }], count: 1 })],
    ["GET", /^\/api\/incidents$/, "reader", (c) => {
      const rows = fx.incidents.filter((i) => (!c.query.get("status") || i.status === c.query.get("status")) && (!c.query.get("severity") || i.severity === c.query.get("severity")) && (!c.query.get("metric") || i.metric === c.query.get("metric")));
      return { data: rows, count: rows.length };
    }],
    ["GET", /^\/api\/incidents\/summary$/, "reader", () => ({ count: 3, by_status: { open: 1, acknowledged: 1, resolved: 1 }, by_severity: { medium: 1, low: 1, critical: 1 }, by_metric: {} })],
    ["GET", /^\/api\/incidents\/7$/, "reader", () => fx.incidentDetail],
    ["GET", /^\/api\/incidents\/8$/, "reader", () => ({ ...fx.incidentDetail, ...fx.incidents[1] })],
    ["GET", /^\/api\/incidents\/9$/, "reader", () => analysisIncident],
    ["GET", /^\/api\/incidents\/11$/, "reader", () => fx.inconclusiveDetail],
    ["GET", /^\/api\/incidents\/12$/, "reader", () => fx.noActionDetail],
    ["GET", /^\/api\/incidents\/3$/, "reader", () => ({ ...fx.incidentDetail, ...fx.incidents[2], causes: [], recommendations: [], experiment_plan: null })],
    ["GET", /^\/api\/incidents\/\d+\/slices$/, "reader", () => fx.slicesTop],
    ["PATCH", /^\/api\/incidents\/\d+$/, "engineer", (c) => ({ ...fx.incidentDetail, ...(c.body as object) })],
    ["POST", /^\/api\/incidents\/\d+\/feedback$/, "engineer", (c) => ({ status: 201, body: { id: 1, incident_id: 7, actor: "ana", created_at: "2026-01-29T03:00:00", ...(c.body as object) } })],
    ["POST", /^\/api\/incidents\/\d+\/whatif\/runs$/, "reader", (c) => {
      whatIfAsked = c.body as WhatIfRequest;
      return { status: 202, body: whatIfRun(Number(c.path.split("/")[3]), { status: "running", stage: "queued", progress: 0 }) };
    }],
    ["GET", /^\/api\/incidents\/\d+\/whatif\/runs\/[0-9a-f]{32}$/, "reader", (c) =>
      whatIfRun(Number(c.path.split("/")[3]), { status: "succeeded", stage: "done", progress: 1, result: whatIfResult(whatIfAsked) })],
    ["GET", /^\/api\/actions$/, "engineer", () => ({ data: fx.actions, count: fx.actions.length })],
    ["POST", /^\/api\/incidents\/\d+\/actions$/, "engineer", () => ({ status: 201, body: fx.actions[0] })],
    ["POST", /^\/api\/actions\/\d+\/(approve|reject)$/, "engineer", (c) => ({ ...fx.actions[0], status: c.path.endsWith("approve") ? "approved" : "rejected", decided_by: "ana" })],
    ["GET", /^\/api\/audit$/, "engineer", () => ({ data: fx.audit, count: fx.audit.length })],
    ["GET", /^\/api\/signals\/analysis\/latest$/, "reader", () => signalAnalysis],
    ["POST", /^\/api\/signals\/analysis$/, "engineer", () => ({ status: 201, body: signalAnalysis })],
    ["GET", /^\/api\/signals\/patterns\/[0-9a-f]{12}$/, "reader", (c) => {
      const pattern = signalAnalysis.report.patterns.find((p) => c.path.endsWith(p.id));
      return pattern ? { analysis_id: 1, pattern, proposals: signalProposals.filter((p) => p.pattern_id === pattern.id) } : { status: 404, body: { detail: "pattern not found" } };
    }],
    ["GET", /^\/api\/signals\/proposals$/, "reader", (c) => {
      const rows = signalProposals.filter((p) => !c.query.get("status") || p.status === c.query.get("status"));
      return { data: rows, count: rows.length };
    }],
    ["POST", /^\/api\/signals\/proposals\/\d+\/(approve|reject)$/, "engineer", (c) => ({
      ...signalProposals[Number(c.path.split("/")[4]) - 1], status: c.path.endsWith("approve") ? "approved" : "rejected",
      decided_by: "ana", reason: (c.body as { reason: string }).reason,
    })],
    ["POST", /^\/api\/signals\/proposals\/\d+\/execute$/, "engineer", (c) => {
      const p = signalProposals[Number(c.path.split("/")[4]) - 1];
      const dryRun = (c.body as { dry_run: boolean }).dry_run;
      if (!dryRun && (p.tool === "escalation" || p.tool === "webhook_post")) {
        return { status: 409, body: { detail: `tool ${p.tool} has no URL: set it in CXW_SIGNAL_TOOL_URLS to run it for real (a dry run needs none)` } };
      }
      return Object.assign(p, { result: executed(p, dryRun) }); // kept on the proposal, as the backend does
    }],
    ["GET", /^\/api\/reconciliations$/, "reader", () => ({ data: reconciliationRuns, count: reconciliationRuns.length })],
    ["GET", /^\/api\/reconciliations\/\d+$/, "reader", (c) => {
      const run = reconciliationRuns.find((r) => c.path.endsWith(`/${r.id}`));
      return run ?? { status: 404, body: { detail: "reconciliation not found" } };
    }],
    ["GET", /^\/api\/reconciliations\/[12]\/findings$/, "reader", (c) => (c.path.includes("/2/") ? reconFindings.run2 : reconFindings.run1)],
    ["GET", /^\/api\/reconciliations\/\d+\/(exports\/[a-z_.]+|report\/(markdown|pdf)|chart)$/, "reader", () => "file content"],
    ["POST", /^\/api\/reconciliations(\/upload)?$/, "engineer", () => ({ status: 202, body: reconciliationRuns[0] })],
  ];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(String(input), init);
    const url = new URL(req.url);
    const form = init?.body instanceof FormData ? init.body : undefined; // uploads: the form as the page built it
    const text = form ? "" : await req.text();
    const body = form ?? (text ? JSON.parse(text) : undefined);
    const call: Call = { method: req.method, path: url.pathname, query: url.searchParams, body, auth: req.headers.get("Authorization") };
    calls.push(call);
    const token = call.auth?.replace(/^Bearer /, "") ?? "";
    const me = TOKENS[token];
    if (!me) return json(401, { detail: call.auth ? "invalid or revoked token" : "missing bearer token" });
    const key = `${call.method} ${call.path}`;
    const override = Object.entries(overrides).find(([k]) => k === key)?.[1];
    const route = routes.find(([m, re]) => m === call.method && re.test(call.path));
    if (!route && !override) return json(404, { detail: "Not Found" });
    if (route && route[2] === "engineer" && me.role !== "engineer") return json(403, { detail: "this needs the engineer role" });
    if (call.path === "/api/me") return json(200, me);
    const out = (override ?? route![3])(call) as { status?: number; body?: unknown } | unknown;
    if (out && typeof out === "object" && "body" in (out as object) && "status" in (out as object)) {
      const o = out as { status: number; body: unknown };
      return json(o.status, o.body);
    }
    return json(200, out);
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, fetchMock };
}
