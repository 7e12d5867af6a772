// Slice keys as the engine writes them: "dim=value&dim=value" sorted by dimension; "*" is the total.
/** A slice as the tables and heatmap show it: its key, its share of the change and its numbers. */
export interface SliceRow {
  key: string;
  share: number;
  baseline?: number | null;
  current?: number | null;
  change?: number | null;
  support?: number | null;
}

export function sliceFilters(key: string): [string, string][] {
  if (!key || key === "*") return [];
  return key.split("&").map((part) => {
    const i = part.indexOf("=");
    return [part.slice(0, i), part.slice(i + 1)] as [string, string];
  });
}

export function sliceKey(filters: [string, string][]): string {
  if (!filters.length) return "*";
  return [...filters]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([d, v]) => `${d}=${v}`)
    .join("&");
}

export function sliceDepth(key: string): number {
  return sliceFilters(key).length;
}

/** The key of a slice given as a string or as an object with `key` (or `filters`). */
export function keyOf(s: unknown): string {
  if (typeof s === "string") return s;
  if (s && typeof s === "object") {
    const o = s as { key?: unknown; slice?: unknown; filters?: unknown };
    if (typeof o.key === "string") return o.key;
    if (typeof o.slice === "string") return o.slice;
    if (Array.isArray(o.filters)) return sliceKey(o.filters as [string, string][]);
  }
  return "*";
}
