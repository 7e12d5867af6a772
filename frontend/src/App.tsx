// Routes. Every page keeps its state (filters, selection, tab) in the URL so a link can be shared.
import { Navigate, Route, Routes, useLocation } from "react-router";
import { useAuth } from "./auth/AuthContext";
import { Layout } from "./components/Layout";
import { Empty, Loading, ErrorState } from "./components/States";
import { ApiError } from "./api/client";
import { SignInPage } from "./pages/SignInPage";
import { OverviewPage } from "./pages/OverviewPage";
import { IncidentsPage } from "./pages/IncidentsPage";
import { IncidentPage } from "./pages/IncidentPage";
import { SummaryPage } from "./pages/SummaryPage";
import { ApprovalsPage } from "./pages/ApprovalsPage";
import { AuditPage } from "./pages/AuditPage";
import { SignalsPage } from "./pages/SignalsPage";
import { SignalPatternPage } from "./pages/SignalPatternPage";
import { SignalApprovalsPage } from "./pages/SignalApprovalsPage";
import { ReconciliationsPage } from "./pages/ReconciliationsPage";
import { ReconciliationPage } from "./pages/ReconciliationPage";
import { AskPage } from "./pages/AskPage";
import type { ReactNode } from "react";

function RequireAuth({ children }: { children: ReactNode }) {
  const auth = useAuth();
  const location = useLocation();
  if (!auth.token || (auth.error instanceof ApiError && auth.error.status === 401)) {
    return <Navigate to="/signin" replace state={{ from: location.pathname + location.search }} />;
  }
  if (auth.loading) return <Loading label="Checking your token…" />;
  if (auth.error) return <ErrorState error={auth.error} title="Could not check your token" />;
  return <>{children}</>;
}

function RoleOnly({ what }: { what: string }) {
  return (
    <div className="card">
      <Empty title={`${what} are for engineers`}>Your role can read incidents, summaries and plans.</Empty>
    </div>
  );
}

export function App() {
  const { role, canAdminister } = useAuth();
  return (
    <Routes>
      <Route path="/signin" element={<SignInPage />} />
      <Route
        element={
          <RequireAuth>
            <Layout />
          </RequireAuth>
        }
      >
        <Route index element={<Navigate to={role === "pm" ? "/summary" : "/overview"} replace />} />
        <Route path="overview" element={<OverviewPage />} />
        <Route path="incidents" element={<IncidentsPage />} />
        <Route path="incidents/:id" element={<IncidentPage />} />
        <Route path="summary" element={<SummaryPage />} />
        <Route path="ask" element={<AskPage />} />
        <Route path="approvals" element={canAdminister ? <ApprovalsPage /> : <RoleOnly what="Approvals" />} />
        <Route path="signals" element={<SignalsPage />} />
        <Route path="signals/patterns/:id" element={<SignalPatternPage />} />
        <Route path="signals/approvals" element={<SignalApprovalsPage />} />
        <Route path="reconciliations" element={<ReconciliationsPage />} />
        <Route path="reconciliations/:id" element={<ReconciliationPage />} />
        <Route path="audit" element={canAdminister ? <AuditPage /> : <RoleOnly what="The audit trail" />} />
        <Route path="*" element={<div className="card"><ErrorState error={new ApiError(404, "No such page")} /></div>} />
      </Route>
    </Routes>
  );
}
