// TanStack Query hooks over `api`: cache keys in one place, and writes invalidate what they change.
import { useState } from "react";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type ReconcileUploadForm } from "./endpoints";
import type {
  ActionStatus,
  FeedbackLabel,
  IncidentFilters,
  IncidentStatus,
  ReconcilePathsRequest,
  ReconciliationRun,
  SignalProposalStatus,
  WhatIfRequest,
  WhatIfRun,
} from "./types";

export const useWorkspaces = () =>
  useQuery({ queryKey: ["workspaces"], queryFn: api.workspaces, staleTime: 5 * 60_000 });

/** The dimensions of a workspace (from the cached list): a series request for a slice needs them. */
export function useDimensions(workspaceId: number | undefined): string[] | undefined {
  const q = useWorkspaces();
  return q.data?.data.find((w) => w.id === workspaceId)?.dimensions;
}

/** The query of a metric's series in a slice (raw key), shared by `useSeries` and the pooled DiD series. */
export const seriesQuery = (workspaceId: number | undefined, metric: string | undefined, slice: string, dimensions: string[] | undefined) => ({
  queryKey: ["series", workspaceId, metric, slice],
  queryFn: () => api.series(workspaceId!, metric!, slice, dimensions ?? []),
  enabled: workspaceId !== undefined && !!metric && (slice === "*" || dimensions !== undefined),
  staleTime: 60_000,
});

export const useSeries = (workspaceId: number | undefined, metric: string | undefined, slice = "*") =>
  useQuery(seriesQuery(workspaceId, metric, slice, useDimensions(workspaceId)));

export const useChanges = (workspaceId: number | undefined) =>
  useQuery({
    queryKey: ["changes", workspaceId],
    queryFn: () => api.changes(workspaceId!),
    enabled: workspaceId !== undefined,
    staleTime: 5 * 60_000,
  });

export const useIncidents = (f: IncidentFilters = {}) =>
  useQuery({ queryKey: ["incidents", f], queryFn: () => api.incidents(f), placeholderData: keepPreviousData });

export const useIncidentSummary = (workspaceId?: number) =>
  useQuery({ queryKey: ["incidents", "summary", workspaceId], queryFn: () => api.incidentSummary(workspaceId) });

export const useIncident = (id: number) =>
  useQuery({ queryKey: ["incident", id], queryFn: () => api.incident(id), enabled: Number.isFinite(id) });

export function useIncidentSlices(inc: { id: number; workspace_id: number }, parent: string) {
  const dimensions = useDimensions(inc.workspace_id);
  return useQuery({
    queryKey: ["incident", inc.id, "slices", parent],
    queryFn: () => api.incidentSlices(inc.id, parent, dimensions ?? []),
    enabled: Number.isFinite(inc.id) && (parent === "*" || dimensions !== undefined),
    staleTime: 5 * 60_000,
  });
}

export const useActions = (q: { status?: ActionStatus; incident_id?: number } = {}, enabled = true) =>
  useQuery({ queryKey: ["actions", q], queryFn: () => api.actions(q), enabled });

export const useAudit = (q: { entity_type?: string; entity_id?: string; limit?: number; offset?: number } = {}, enabled = true) =>
  useQuery({ queryKey: ["audit", q], queryFn: () => api.audit(q), placeholderData: keepPreviousData, enabled });

export const useSignalAnalysis = () =>
  useQuery({ queryKey: ["signals", "analysis"], queryFn: api.signalAnalysis, retry: false });

export const useSignalPattern = (id: string) =>
  useQuery({ queryKey: ["signals", "pattern", id], queryFn: () => api.signalPattern(id) });

export const useSignalProposals = (q: { status?: SignalProposalStatus; analysis_id?: number } = {}) =>
  useQuery({ queryKey: ["signals", "proposals", q], queryFn: () => api.signalProposals(q), placeholderData: keepPreviousData });

export function useRunSignalAnalysis() {
  const invalidate = useInvalidate();
  return useMutation({ mutationFn: (windowDays?: number) => api.runSignalAnalysis(windowDays), onSuccess: () => invalidate("signals", "audit") });
}

export function useDecideSignalProposal() {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (v: { id: number; decision: "approve" | "reject"; reason?: string }) => api.decideSignalProposal(v.id, v.decision, v.reason),
    onSuccess: () => invalidate("signals", "audit"),
  });
}

export function useExecuteSignalProposal() {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (v: { id: number; dryRun: boolean }) => api.executeSignalProposal(v.id, v.dryRun),
    onSuccess: () => invalidate("signals", "audit"),
  });
}

/** Poll every second while a run is going; stop once every run has ended. */
const POLL_MS = 1000;

export const useReconciliations = () =>
  useQuery({
    queryKey: ["reconciliations"],
    queryFn: api.reconciliations,
    refetchInterval: (q) => (q.state.data?.data.some((r) => r.status === "running") ? POLL_MS : false),
  });

export const useReconciliation = (id: number) =>
  useQuery({
    queryKey: ["reconciliations", id],
    queryFn: () => api.reconciliation(id),
    enabled: Number.isFinite(id),
    refetchInterval: (q) => (q.state.data?.status === "running" ? POLL_MS : false),
  });

export const useReconciliationFindings = (run: ReconciliationRun | undefined) =>
  useQuery({
    queryKey: ["reconciliations", run?.id, "findings"],
    queryFn: () => api.reconciliationFindings(run!.id),
    enabled: run?.status === "succeeded",
    staleTime: Infinity, // a finished run's findings never change
  });

export function useStartReconciliation() {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (v: { kind: "upload"; body: ReconcileUploadForm } | { kind: "server"; body: ReconcilePathsRequest }) =>
      v.kind === "upload" ? api.uploadReconciliation(v.body) : api.startReconciliation(v.body),
    onSuccess: () => invalidate("reconciliations", "audit"),
  });
}

function useInvalidate() {
  const qc = useQueryClient();
  return (...prefixes: string[]) => prefixes.forEach((p) => qc.invalidateQueries({ queryKey: [p] }));
}

export function useSetStatus(id: number) {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (status: IncidentStatus) => api.setStatus(id, status),
    onSuccess: () => invalidate("incident", "incidents", "audit"),
  });
}

export function useAddFeedback(id: number) {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (fb: { label: FeedbackLabel; comment?: string }) => api.addFeedback(id, fb),
    onSuccess: () => invalidate("incident", "incidents", "audit"),
  });
}

/** Poll a running what-if twice a second: most answer in a few seconds. */
const WHATIF_POLL_MS = 500;

/** A what-if as a background run: `start` it, then `run` follows its stage and progress until it ends. */
export function useWhatIf(id: number) {
  const [runId, setRunId] = useState<string | null>(null);
  const start = useMutation({ mutationFn: (body: WhatIfRequest) => api.startWhatIf(id, body), onSuccess: (run) => setRunId(run.id) });
  const poll = useQuery({
    queryKey: ["whatif-run", id, runId],
    queryFn: () => api.whatIfRun(id, runId!),
    enabled: runId !== null,
    refetchInterval: (q) => (q.state.data?.status === "running" ? WHATIF_POLL_MS : false),
    staleTime: Infinity, // an ended run never changes
  });
  const run: WhatIfRun | undefined = runId === null ? undefined : (poll.data ?? start.data);
  return {
    start: (body: WhatIfRequest) => {
      setRunId(null);
      start.mutate(body);
    },
    reset: () => {
      setRunId(null);
      start.reset();
    },
    run,
    running: start.isPending || run?.status === "running",
    error: start.error ?? poll.error,
  };
}

export function useProposeAction(incidentId: number) {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (body: { recommendation?: number; title?: string; description?: string }) =>
      api.proposeAction(incidentId, body),
    onSuccess: () => invalidate("actions", "audit"),
  });
}

export function useDecideAction() {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (v: { id: number; decision: "approve" | "reject"; comment?: string }) =>
      api.decideAction(v.id, v.decision, v.comment),
    onSuccess: () => invalidate("actions", "audit", "incident"),
  });
}
