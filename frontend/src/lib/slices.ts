// Slice keys as the engine writes them: "dim=value&dim=value" sorted by dimension; "*" is the total.
// The key is raw: a value may itself hold "&", "=" or "%". A request for a slice's series escapes them
// (`sliceParam`), using the workspace's dimensions to tell where each pair starts.
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

/**
 * The pairs of a raw slice key, split with the workspace's dimensions: a pair starts at the beginning or
 * after an "&" that is followed by "dim=" for a dimension that sorts after the previous pair's (the
 * engine sorts pairs by dimension), so "&" and "=" inside a value stay in it. Without dimensions (or
 * when the key starts with none of them) this is `sliceFilters`.
 */
export function slicePairs(key: string, dimensions: readonly string[]): [string, string][] {
  if (!key || key === "*") return [];
  // longest first: a dimension that is a prefix of another ("region", "region_group") must not win
  const dims = [...dimensions].sort((a, b) => b.length - a.length);
  const startsAt = (at: number, after: string | null) => dims.find((d) => (after === null || d > after) && key.startsWith(`${d}=`, at));
  let dim = startsAt(0, null);
  if (dim === undefined) return sliceFilters(key);
  const pairs: [string, string][] = [];
  let from = dim.length + 1;
  for (let i = from; i < key.length; i++) {
    if (key[i] !== "&") continue;
    const next = startsAt(i + 1, dim);
    if (next === undefined) continue;
    pairs.push([dim, key.slice(from, i)]);
    dim = next;
    from = i + 1 + next.length + 1;
    i = from - 1;
  }
  pairs.push([dim, key.slice(from)]);
  return pairs;
}

const escapePart = (s: string) => s.replace(/%/g, "%25").replace(/&/g, "%26").replace(/=/g, "%3D");

/**
 * The `slice` query parameter of a series request for a raw slice key: each dimension and value with
 * "%", "&" and "=" written "%25", "%26" and "%3D" (`documents/api.md`, the series route); the client then
 * URL-encodes the parameter as usual. "*" (the total) stays "*".
 */
export function sliceParam(key: string, dimensions: readonly string[]): string {
  const pairs = slicePairs(key, dimensions);
  return pairs.length ? pairs.map(([d, v]) => `${escapePart(d)}=${escapePart(v)}`).join("&") : "*";
}
