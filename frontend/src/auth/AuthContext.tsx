// Who is signed in: the token from sessionStorage, checked against /api/auth/me. The UI derives what
// to show from the role; the API enforces the same rules on every request.
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../api/endpoints";
import type { Me, Role } from "../api/types";
import { clearToken, getToken, setToken } from "./token";

export interface Auth {
  token: string | null;
  me: Me | undefined;
  role: Role | undefined;
  loading: boolean;
  error: unknown;
  /** May change incidents, give feedback, propose actions (the API's "write" permission). */
  canWrite: boolean;
  /** May see and decide approvals and read the audit trail (engineer-only routes in the API). */
  canAdminister: boolean;
  signIn: (token: string) => Promise<Me>;
  signOut: () => void;
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const [token, setTokenState] = useState<string | null>(() => getToken());
  const meQuery = useQuery({
    queryKey: ["me", token],
    queryFn: () => api.me(token),
    enabled: !!token,
    retry: false,
    staleTime: 5 * 60_000,
  });

  const signIn = useCallback(
    async (t: string) => {
      const me = await api.me(t.trim());
      setToken(t);
      qc.clear();
      qc.setQueryData(["me", t.trim()], me);
      setTokenState(t.trim());
      return me;
    },
    [qc],
  );

  const signOut = useCallback(() => {
    clearToken();
    qc.clear();
    setTokenState(null);
  }, [qc]);

  const value = useMemo<Auth>(() => {
    const role = meQuery.data?.role;
    return {
      token,
      me: meQuery.data,
      role,
      loading: !!token && meQuery.isPending,
      error: meQuery.error,
      canWrite: meQuery.data?.permissions.includes("write") ?? false,
      canAdminister: role === "engineer",
      signIn,
      signOut,
    };
  }, [token, meQuery.data, meQuery.isPending, meQuery.error, signIn, signOut]);

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error("useAuth outside AuthProvider");
  return ctx;
}
