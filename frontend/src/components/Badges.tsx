import type { Severity } from "../api/types";
import { humanize } from "../lib/format";

export function SeverityBadge({ severity }: { severity: Severity | string }) {
  return <span className={`badge sev-${severity}`}>{humanize(severity)}</span>;
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge st-${status}`}>{humanize(status)}</span>;
}

export function SupportBadge({ supports }: { supports: boolean }) {
  return supports ? <span className="badge ok">supports</span> : <span className="badge no">does not support</span>;
}

export function ConfidenceBar({ value }: { value: number }) {
  const pct = Math.round(Math.max(0, Math.min(1, value)) * 100);
  return (
    <div className="conf" title={`confidence ${pct}%`}>
      <div className="row small" style={{ justifyContent: "space-between" }}>
        <span className="muted">confidence</span>
        <strong className="num">{pct}%</strong>
      </div>
      <div className="conf-track" role="meter" aria-label="confidence" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
        <div className="conf-fill" style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}
