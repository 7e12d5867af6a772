// Status change for an incident, offered only where the role may write and only the allowed moves.
import type { IncidentStatus } from "../api/types";
import { useSetStatus } from "../api/hooks";
import { useAuth } from "../auth/AuthContext";
import { StatusBadge } from "./Badges";
import { errorMessage } from "./States";
import { humanize } from "../lib/format";

export const TRANSITIONS: Record<IncidentStatus, IncidentStatus[]> = {
  open: ["acknowledged", "resolved", "dismissed"],
  acknowledged: ["open", "resolved", "dismissed"],
  resolved: ["open"],
  dismissed: ["open"],
};

export function StatusControl({ id, status, compact }: { id: number; status: IncidentStatus; compact?: boolean }) {
  const { canWrite } = useAuth();
  const m = useSetStatus(id);
  if (!canWrite) return <StatusBadge status={status} />;
  return (
    <span className="row" style={{ gap: 6, flexWrap: "nowrap" }}>
      <select
        aria-label={`Status of incident ${id}`}
        value={status}
        disabled={m.isPending}
        onChange={(e) => m.mutate(e.target.value as IncidentStatus)}
        onClick={(e) => e.stopPropagation()}
        style={compact ? { minHeight: 28, padding: "2px 6px" } : undefined}
      >
        <option value={status}>{humanize(status)}</option>
        {TRANSITIONS[status]?.map((s) => (
          <option key={s} value={s}>
            → {humanize(s)}
          </option>
        ))}
      </select>
      {m.isPending && <span className="spinner" aria-label="Saving" />}
      {m.isError && <span className="small bad" role="alert">{errorMessage(m.error)}</span>}
    </span>
  );
}
