// One function per API route the UI uses. Pages never build URLs themselves.
import { request } from "./client";
import type {
  Action,
  AuditEntry,
  ChangeEvent,
  Feedback,
  FeedbackLabel,
  IncidentDetail,
  IncidentFilters,
  IncidentPublic,
  IncidentStatus,
  IncidentSummary,
  Me,
  Page,
  Series,
  SliceChildren,
  WhatIfRequest,
  WhatIfResult,
  Workspace,
} from "./types";

const enc = encodeURIComponent;

export const api = {
  me: (token?: string | null) => request<Me>("GET", "/api/me", { token }),
  workspaces: () => request<Page<Workspace>>("GET", "/api/workspaces"),
  series: (workspaceId: number, metric: string, slice = "*") =>
    request<Series>("GET", `/api/workspaces/${workspaceId}/series`, { query: { metric, slice } }),
  changes: (workspaceId: number) => request<Page<ChangeEvent>>("GET", `/api/workspaces/${workspaceId}/changes`),
  incidents: (f: IncidentFilters = {}) =>
    request<Page<IncidentPublic>>("GET", "/api/incidents", { query: { ...f } }),
  incidentSummary: (workspaceId?: number) =>
    request<IncidentSummary>("GET", "/api/incidents/summary", { query: { workspace_id: workspaceId } }),
  incident: (id: number) => request<IncidentDetail>("GET", `/api/incidents/${id}`),
  incidentSlices: (id: number, parent = "*") =>
    request<SliceChildren>("GET", `/api/incidents/${id}/slices`, { query: { parent } }),
  setStatus: (id: number, status: IncidentStatus) =>
    request<IncidentPublic>("PATCH", `/api/incidents/${id}`, { body: { status } }),
  addFeedback: (id: number, fb: { label: FeedbackLabel; comment?: string }) =>
    request<Feedback>("POST", `/api/incidents/${id}/feedback`, { body: fb }),
  whatIf: (id: number, body: WhatIfRequest) =>
    request<WhatIfResult>("POST", `/api/incidents/${id}/whatif`, { body }),
  planPdfPath: (id: number) => `/api/incidents/${id}/plan.pdf`,
  actions: (q: { status?: string; incident_id?: number } = {}) =>
    request<Page<Action>>("GET", "/api/actions", { query: q }),
  proposeAction: (incidentId: number, body: { recommendation?: number; title?: string; description?: string }) =>
    request<Action>("POST", `/api/incidents/${incidentId}/actions`, { body }),
  decideAction: (id: number, decision: "approve" | "reject", comment = "") =>
    request<Action>("POST", `/api/actions/${id}/${decision}`, { body: { comment } }),
  audit: (q: { entity_type?: string; entity_id?: string; limit?: number; offset?: number } = {}) =>
    request<Page<AuditEntry>>("GET", "/api/audit", { query: q }),
};

export { enc };
