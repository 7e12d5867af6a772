// Loading, empty and error states, the same on every page.
import type { ReactNode } from "react";
import { Link } from "react-router";
import { ApiError } from "../api/client";

export function Loading({ label = "Loading…", height }: { label?: string; height?: number }) {
  return (
    <div className="state" role="status" aria-live="polite" style={height ? { minHeight: height } : undefined}>
      <span className="spinner" aria-hidden="true" /> <span>{label}</span>
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state" role="note">
      <div className="title">{title}</div>
      {children && <div className="small">{children}</div>}
    </div>
  );
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 401) return "Your session token is missing or no longer valid.";
    if (error.status === 403) return "Your role is not allowed to do this.";
    if (error.status === 404) return "Not found.";
    return error.message;
  }
  if (error instanceof TypeError) return "Cannot reach the CX Workbench API.";
  return error instanceof Error ? error.message : String(error);
}

export function ErrorState({ error, retry, title = "Could not load this" }: { error: unknown; retry?: () => void; title?: string }) {
  const status = error instanceof ApiError ? error.status : undefined;
  return (
    <div className="state error" role="alert">
      <div className="title">{status === 404 ? "Not found" : title}</div>
      <div className="small">{errorMessage(error)}</div>
      <div className="row" style={{ justifyContent: "center", marginTop: 10 }}>
        {status === 401 && <Link className="btn small" to="/signin">Sign in again</Link>}
        {retry && status !== 401 && status !== 403 && status !== 404 && (
          <button className="btn small" onClick={retry}>Retry</button>
        )}
      </div>
    </div>
  );
}

/** Render a query's three states, or its data. */
export function QueryState<T>({
  query,
  empty,
  children,
  loadingHeight,
}: {
  query: { isPending: boolean; isError: boolean; error: unknown; data: T | undefined; refetch: () => unknown };
  empty?: (data: T) => ReactNode | null;
  children: (data: T) => ReactNode;
  loadingHeight?: number;
}) {
  if (query.isPending) return <Loading height={loadingHeight} />;
  if (query.isError) return <ErrorState error={query.error} retry={() => void query.refetch()} />;
  const data = query.data as T;
  const e = empty?.(data);
  if (e) return <>{e}</>;
  return <>{children(data)}</>;
}
