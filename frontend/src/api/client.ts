// The typed HTTP client: openapi-fetch checked against the backend's OpenAPI schema (schema.d.ts).
// Every request carries the session's bearer token; a non-2xx answer becomes an ApiError with the status
// and the API's `detail`, so pages can tell 401/403/404 apart.
import createClient, { type Middleware } from "openapi-fetch";
import { getToken } from "../auth/token";
import type { paths } from "./schema";

export class ApiError extends Error {
  constructor(
    public readonly status: number,
    message: string,
    public readonly body?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

function origin(): string {
  return typeof window !== "undefined" && window.location?.origin && window.location.origin !== "null" ? window.location.origin : "http://localhost";
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token && !request.headers.has("Authorization")) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
};

export const client = createClient<paths>({ baseUrl: origin(), fetch: (req) => globalThis.fetch(req) });
client.use(auth);

function detailOf(body: unknown, fallback: string): string {
  if (body && typeof body === "object" && "detail" in body) {
    const d = (body as { detail: unknown }).detail;
    if (typeof d === "string") return d;
    if (Array.isArray(d)) return d.map((e) => (e && typeof e === "object" && "msg" in e ? String(e.msg) : String(e))).join("; ");
  }
  return fallback;
}

/** The data of an openapi-fetch result, or an ApiError. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || error !== undefined) {
    throw new ApiError(response.status, detailOf(error, `${response.status} ${response.statusText || "error"}`), error);
  }
  return data as T;
}

type FormPath = "/api/reconciliations/upload";
type FormResult<P extends FormPath> = paths[P]["post"]["responses"][202]["content"]["application/json"];

/** POST a multipart form (file uploads) with the token; the browser sets the boundary. The answer is
 * typed by the route's schema, as openapi-fetch types JSON routes. */
export async function postForm<P extends FormPath>(path: P, form: FormData): Promise<FormResult<P>> {
  const token = getToken();
  const res = await globalThis.fetch(new URL(path, origin()).toString(), {
    method: "POST",
    body: form,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (!res.ok) throw new ApiError(res.status, detailOf(body, `${res.status} ${res.statusText || "error"}`), body);
  return body as FormResult<P>;
}

/** Download a binary (the experiment plan PDF) with the token, and hand it to the browser. */
export async function download(path: string, filename: string): Promise<void> {
  const token = getToken();
  const res = await globalThis.fetch(new URL(path, origin()).toString(), { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!res.ok) {
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      body = undefined;
    }
    throw new ApiError(res.status, detailOf(body, `download failed: ${res.status}`), body);
  }
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
