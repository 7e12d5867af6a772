// One function per API route the UI uses, each checked against the OpenAPI schema. Pages never build URLs.
import { client, postForm, unwrap } from "./client";
import { sliceParam } from "../lib/slices";
import type {
  AskRequest,
  FeedbackLabel,
  SignalProposalStatus,
  IncidentFilters,
  IncidentStatus,
  ReconcilePathsRequest,
  ReconcileUpload,
  WhatIfRequest,
} from "./types";

const byId = (id: number) => ({ params: { path: { incident_id: id } } });
const runId = (id: number) => ({ params: { path: { run_id: id } } });

/** The upload form: the two files and the options as `cxw reconcile` takes them. */
export interface ReconcileUploadForm extends Omit<ReconcileUpload, "legacy" | "migrated" | "tolerance"> {
  legacy: File;
  migrated: File;
  tolerance: string[];
}

function formOf(body: ReconcileUploadForm): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(body)) {
    if (v === null || v === undefined || v === "") continue;
    if (Array.isArray(v)) v.forEach((item) => form.append(k, item));
    else form.append(k, v instanceof File ? v : String(v));
  }
  return form;
}

export const api = {
  ask: (body: AskRequest) => unwrap(client.POST("/api/ask", { body })),
  me: (token?: string | null) =>
    unwrap(client.GET("/api/me", token ? { headers: { Authorization: `Bearer ${token}` } } : {})),
  workspaces: () => unwrap(client.GET("/api/workspaces", { params: { query: { limit: 100 } } })),
  /** A metric's series in a slice given by its raw key; `dimensions` (the workspace's) escape it (`sliceParam`). */
  series: (workspaceId: number, metric: string, slice: string, dimensions: readonly string[]) =>
    unwrap(
      client.GET("/api/workspaces/{workspace_id}/series", {
        params: { path: { workspace_id: workspaceId }, query: { metric, slice: sliceParam(slice, dimensions) } },
      }),
    ),
  changes: (workspaceId: number) =>
    unwrap(client.GET("/api/workspaces/{workspace_id}/changes", { params: { path: { workspace_id: workspaceId }, query: { limit: 500 } } })),
  incidents: (f: IncidentFilters = {}) => unwrap(client.GET("/api/incidents", { params: { query: f } })),
  incidentSummary: (workspaceId?: number) =>
    unwrap(client.GET("/api/incidents/summary", { params: { query: { workspace_id: workspaceId } } })),
  incident: (id: number) => unwrap(client.GET("/api/incidents/{incident_id}", byId(id))),
  /** The children of a slice (raw key; the workspace's `dimensions` escape it as for `series`). */
  incidentSlices: (id: number, parent: string, dimensions: readonly string[], limit = 1000) =>
    unwrap(
      client.GET("/api/incidents/{incident_id}/slices", {
        params: { path: { incident_id: id }, query: { parent: sliceParam(parent, dimensions), limit } },
      }),
    ),
  setStatus: (id: number, status: IncidentStatus) =>
    unwrap(client.PATCH("/api/incidents/{incident_id}", { ...byId(id), body: { status } })),
  addFeedback: (id: number, fb: { label: FeedbackLabel; comment?: string }) =>
    unwrap(client.POST("/api/incidents/{incident_id}/feedback", { ...byId(id), body: { label: fb.label, comment: fb.comment ?? "" } })),
  /** Start a what-if in the background; poll `whatIfRun` for its stage and progress, then its result. */
  startWhatIf: (id: number, body: WhatIfRequest) =>
    unwrap(client.POST("/api/incidents/{incident_id}/whatif/runs", { ...byId(id), body })),
  whatIfRun: (id: number, run: string) =>
    unwrap(client.GET("/api/incidents/{incident_id}/whatif/runs/{run_id}", { params: { path: { incident_id: id, run_id: run } } })),
  planPdfPath: (id: number) => `/api/incidents/${id}/plan/pdf`,
  actions: (q: { status?: "proposed" | "approved" | "rejected"; incident_id?: number } = {}) =>
    unwrap(client.GET("/api/actions", { params: { query: { ...q, limit: 200 } } })),
  proposeAction: (incidentId: number, body: { recommendation?: number; title?: string; description?: string }) =>
    unwrap(client.POST("/api/incidents/{incident_id}/actions", { ...byId(incidentId), body: { description: "", ...body } })),
  decideAction: (id: number, decision: "approve" | "reject", comment = "") =>
    decision === "approve"
      ? unwrap(client.POST("/api/actions/{action_id}/approve", { params: { path: { action_id: id } }, body: { comment } }))
      : unwrap(client.POST("/api/actions/{action_id}/reject", { params: { path: { action_id: id } }, body: { comment } })),
  audit: (q: { entity_type?: string; entity_id?: string; limit?: number; offset?: number } = {}) =>
    unwrap(client.GET("/api/audit", { params: { query: q } })),
  signalAnalysis: () => unwrap(client.GET("/api/signals/analysis/latest")),
  runSignalAnalysis: (windowDays = 7) =>
    unwrap(client.POST("/api/signals/analysis", { body: { window_days: windowDays } })),
  signalPattern: (id: string) =>
    unwrap(client.GET("/api/signals/patterns/{pattern_id}", { params: { path: { pattern_id: id } } })),
  signalProposals: (q: { status?: SignalProposalStatus; analysis_id?: number } = {}) =>
    unwrap(client.GET("/api/signals/proposals", { params: { query: { ...q, limit: 200 } } })),
  decideSignalProposal: (id: number, decision: "approve" | "reject", reason = "") =>
    decision === "approve"
      ? unwrap(client.POST("/api/signals/proposals/{proposal_id}/approve", { params: { path: { proposal_id: id } }, body: { reason } }))
      : unwrap(client.POST("/api/signals/proposals/{proposal_id}/reject", { params: { path: { proposal_id: id } }, body: { reason } })),
  reconciliations: () => unwrap(client.GET("/api/reconciliations", { params: { query: { limit: 200 } } })),
  reconciliation: (id: number) => unwrap(client.GET("/api/reconciliations/{run_id}", runId(id))),
  reconciliationFindings: (id: number) => unwrap(client.GET("/api/reconciliations/{run_id}/findings", runId(id))),
  startReconciliation: (body: ReconcilePathsRequest) => unwrap(client.POST("/api/reconciliations", { body })),
  uploadReconciliation: (body: ReconcileUploadForm) => postForm("/api/reconciliations/upload", formOf(body)),
  reconciliationPaths: (id: number) => ({
    markdown: `/api/reconciliations/${id}/report/markdown`,
    pdf: `/api/reconciliations/${id}/report/pdf`,
    chart: `/api/reconciliations/${id}/chart`,
    export: (name: string) => `/api/reconciliations/${id}/exports/${encodeURIComponent(name)}`,
  }),
  executeSignalProposal: (id: number, dryRun: boolean) =>
    unwrap(client.POST("/api/signals/proposals/{proposal_id}/execute", { params: { path: { proposal_id: id } }, body: { dry_run: dryRun } })),
};
