// Slice drill-down: the children of the current level in a sortable, virtualized table and a heatmap;
// a selected slice shows its series against its parent and can be drilled into.
import { useMemo } from "react";
import { useSearchParams } from "react-router";
import { useDimensions, useIncidentSlices } from "../../api/hooks";
import type { IncidentDetail } from "../../api/types";
import { SliceHeatmap } from "../charts/SliceHeatmap";
import { SliceTable } from "../SliceTable";
import { Empty, QueryState } from "../States";
import { formatChange, formatPct, formatSlice, formatValue, type Unit } from "../../lib/format";
import { sliceKey, slicePairs, type SliceRow } from "../../lib/slices";
import { MetricPanel } from "./MetricPanel";

const NO_DIMENSIONS: readonly string[] = [];

function Breadcrumbs({ parent, dimensions, onGo }: { parent: string; dimensions: readonly string[]; onGo: (key: string) => void }) {
  const f = slicePairs(parent, dimensions);
  const path = [{ key: "*", label: "All traffic" }, ...f.map((_, i) => ({ key: sliceKey(f.slice(0, i + 1)), label: `${f[i][0]} = ${f[i][1]}` }))];
  return (
    <nav aria-label="Drill-down path" className="row small">
      {path.map((p, i) => (
        <span key={p.key} className="row" style={{ gap: 6 }}>
          {i > 0 && <span className="faint" aria-hidden="true">›</span>}
          {i === path.length - 1 ? (
            <strong aria-current="location">{p.label}</strong>
          ) : (
            <button className="btn small ghost" onClick={() => onGo(p.key)}>{p.label}</button>
          )}
        </span>
      ))}
    </nav>
  );
}

export function DrillDown({ inc, unit }: { inc: IncidentDetail; unit: Unit }) {
  const [params, setParams] = useSearchParams();
  const parent = params.get("parent") ?? (inc.slice || "*");
  const selected = params.get("slice");
  const q = useIncidentSlices(inc, parent);
  const dimensions = useDimensions(inc.workspace_id) ?? NO_DIMENSIONS;
  const rows = useMemo<SliceRow[]>(
    () =>
      (q.data?.data ?? []).map((c) => ({
        key: c.slice,
        share: c.share ?? 0,
        baseline: c.baseline,
        current: c.current,
        change: c.change,
        support: c.current_n,
      })),
    [q.data],
  );
  const sel = rows.find((r) => r.key === selected);
  const update = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) next.delete(k);
      else next.set(k, v);
    }
    setParams(next, { replace: true });
  };

  return (
    <div className="stack">
      <section className="card" aria-labelledby="drill-title">
        <div className="card-head">
          <h2 id="drill-title">Where it regressed</h2>
          <Breadcrumbs parent={parent} dimensions={dimensions} onGo={(key) => update({ parent: key, slice: null })} />
          <span className="spacer" />
          {q.data && (
            <span className="hint num">
              {formatSlice(parent)}: {formatValue(q.data.parent_baseline, unit)} → {formatValue(q.data.parent_current, unit)}
            </span>
          )}
        </div>
        <QueryState
          query={q}
          loadingHeight={240}
          empty={() => (rows.length ? null : <Empty title="No finer slices">This slice has no children with enough records.</Empty>)}
        >
          {() => (
            <div className="grid-drill">
              <div>
                <SliceTable rows={rows} unit={unit} selected={selected} onSelect={(key) => update({ slice: key })} height={380} label={`Children of ${formatSlice(parent)} by share of the change`} />
              </div>
              <div className="card-body">
                <div className="small muted" style={{ marginBottom: 4 }}>Share of the change by dimension value (click a cell)</div>
                <SliceHeatmap rows={rows} parent={parent} dimensions={dimensions} selected={selected} onSelect={(key) => update({ slice: key })} />
              </div>
            </div>
          )}
        </QueryState>
      </section>

      {selected && (
        <section className="card" aria-labelledby="slice-title" data-testid="slice-detail">
          <div className="card-head">
            <h2 id="slice-title">{formatSlice(selected)}</h2>
            {sel && (
              <span className="hint num">
                {formatValue(sel.baseline, unit)} → {formatValue(sel.current, unit)} ({formatChange(sel.change, unit)}) · {formatPct(sel.share, 1, false)} of the change
              </span>
            )}
            <span className="spacer" />
            <button className="btn small" onClick={() => update({ slice: null })}>Close</button>
            <button className="btn small primary" onClick={() => update({ parent: selected, slice: null })}>
              Drill into its children
            </button>
          </div>
          <div className="card-body">
            <MetricPanel inc={inc} slice={selected} compare={parent} unit={unit} height={240} />
          </div>
        </section>
      )}
    </div>
  );
}
