// Slice list: sortable columns (TanStack Table) and virtual scrolling (TanStack Virtual), so thousands
// of slices stay fast. Click or Enter on a row selects the slice.
import { useMemo, useRef, useState } from "react";
import {
  createColumnHelper,
  flexRender,
  getCoreRowModel,
  getSortedRowModel,
  useReactTable,
  type SortingState,
} from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { formatChange, formatPct, formatSlice, formatValue, type Unit } from "../lib/format";
import { sliceDepth, type SliceRow } from "../lib/slices";

const col = createColumnHelper<SliceRow>();
const ROW_HEIGHT = 37;

export function SliceTable({
  rows,
  unit = "ratio",
  selected,
  onSelect,
  height = 360,
  label = "Slices by contribution",
}: {
  rows: SliceRow[];
  unit?: Unit;
  selected?: string | null;
  onSelect?: (key: string) => void;
  height?: number;
  label?: string;
}) {
  const [sorting, setSorting] = useState<SortingState>([{ id: "share", desc: true }]);
  const maxShare = useMemo(() => Math.max(1e-9, ...rows.map((r) => Math.abs(r.share))), [rows]);
  const columns = useMemo(
    () => [
      col.accessor("key", {
        header: "Slice",
        cell: (c) => <span title={c.getValue()}>{formatSlice(c.getValue())}</span>,
        sortingFn: "alphanumeric",
      }),
      col.accessor((r) => sliceDepth(r.key), { id: "depth", header: "Depth", meta: { right: true } }),
      col.accessor("share", {
        header: "Share of change",
        meta: { right: true },
        cell: (c) => (
          <span className="num">
            <span className="share-track" aria-hidden="true">
              <span className="share-bar" style={{ width: `${(Math.abs(c.getValue()) / maxShare) * 100}%`, background: c.getValue() < 0 ? "var(--good)" : undefined }} />
            </span>
            {formatPct(c.getValue(), 1, false)}
          </span>
        ),
      }),
      col.accessor((r) => r.baseline ?? null, { id: "baseline", header: "Baseline", meta: { right: true }, cell: (c) => formatValue(c.getValue(), unit), sortUndefined: "last" }),
      col.accessor((r) => r.current ?? null, { id: "current", header: "Current", meta: { right: true }, cell: (c) => formatValue(c.getValue(), unit) }),
      col.accessor((r) => r.change ?? null, { id: "change", header: "Change", meta: { right: true }, cell: (c) => formatChange(c.getValue(), unit) }),
      col.accessor((r) => r.support ?? null, { id: "support", header: "Records", meta: { right: true }, cell: (c) => formatValue(c.getValue(), "count") }),
    ],
    [unit, maxShare],
  );
  const table = useReactTable({
    data: rows,
    columns,
    state: { sorting },
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
  });
  const { rows: tableRows } = table.getRowModel();
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: tableRows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    initialRect: { width: 800, height },
  });
  const items = virtualizer.getVirtualItems();
  const padTop = items.length ? items[0].start : 0;
  const padBottom = items.length ? virtualizer.getTotalSize() - items[items.length - 1].end : 0;

  return (
    <div ref={scrollRef} className="table-wrap" style={{ maxHeight: height }} data-testid="slice-table">
      <table className="tbl" aria-label={label} aria-rowcount={tableRows.length + 1}>
        <thead>
          {table.getHeaderGroups().map((hg) => (
            <tr key={hg.id}>
              {hg.headers.map((h) => {
                const right = (h.column.columnDef.meta as { right?: boolean } | undefined)?.right;
                const sorted = h.column.getIsSorted();
                return (
                  <th key={h.id} className={right ? "r" : undefined} aria-sort={sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : "none"}>
                    <button onClick={h.column.getToggleSortingHandler()} aria-label={`Sort by ${String(h.column.columnDef.header)}`}>
                      {flexRender(h.column.columnDef.header, h.getContext())}
                      <span aria-hidden="true">{sorted === "asc" ? "▲" : sorted === "desc" ? "▼" : ""}</span>
                    </button>
                  </th>
                );
              })}
            </tr>
          ))}
        </thead>
        <tbody>
          {padTop > 0 && (
            <tr aria-hidden="true">
              <td colSpan={columns.length} style={{ height: padTop, padding: 0, border: 0 }} />
            </tr>
          )}
          {items.map((vi) => {
            const row = tableRows[vi.index];
            const key = row.original.key;
            return (
              <tr
                key={row.id}
                className={`clickable${key === selected ? " selected" : ""}`}
                style={{ height: ROW_HEIGHT }}
                tabIndex={0}
                aria-selected={key === selected}
                aria-rowindex={vi.index + 2}
                data-slice={key}
                onClick={() => onSelect?.(key)}
                onKeyDown={(e) => {
                  if (e.key === "Enter" || e.key === " ") {
                    e.preventDefault();
                    onSelect?.(key);
                  }
                }}
              >
                {row.getVisibleCells().map((cell) => {
                  const right = (cell.column.columnDef.meta as { right?: boolean } | undefined)?.right;
                  return (
                    <td key={cell.id} className={right ? "r num" : undefined}>
                      {flexRender(cell.column.columnDef.cell, cell.getContext())}
                    </td>
                  );
                })}
              </tr>
            );
          })}
          {padBottom > 0 && (
            <tr aria-hidden="true">
              <td colSpan={columns.length} style={{ height: padBottom, padding: 0, border: 0 }} />
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
