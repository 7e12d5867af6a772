// The workspace a page shows: `?ws=<id>` in the URL, else the first one the API lists.
import { useSearchParams } from "react-router";
import { useWorkspaces } from "../api/hooks";
import type { MetricInfo, Workspace } from "../api/types";

export function useCurrentWorkspace() {
  const [params] = useSearchParams();
  const q = useWorkspaces();
  const wanted = params.get("ws");
  const list = q.data?.data ?? [];
  const ws: Workspace | undefined = (wanted ? list.find((w) => String(w.id) === wanted) : undefined) ?? list[0];
  return { ...q, workspace: ws, workspaces: list };
}

/** The headline metric first (a composite such as the CX score), then the others in workspace order. */
export function orderedMetrics(ws: Workspace | undefined): MetricInfo[] {
  if (!ws) return [];
  const score = (m: MetricInfo) =>
    m.role === "primary" || m.role === "headline" ? 0 : m.type === "composite" ? 1 : /score/i.test(m.name) ? 2 : 3;
  return [...ws.metrics].filter((m) => m.role !== "hidden").sort((a, b) => score(a) - score(b));
}

export function metricInfo(ws: Workspace | undefined, name: string | undefined): MetricInfo | undefined {
  return ws?.metrics.find((m) => m.name === name);
}
