// Render the whole app (or one element) with its providers at a URL, signed in with a token.
import type { ReactElement } from "react";
import { render } from "@testing-library/react";
import { MemoryRouter, useLocation } from "react-router";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { AuthProvider } from "../auth/AuthContext";
import { App } from "../App";

export let currentLocation = "";

function LocationProbe() {
  const loc = useLocation();
  currentLocation = loc.pathname + loc.search;
  return null;
}

export function renderApp(route: string, token: string | null = "eng-token", ui: ReactElement = <App />) {
  if (token) sessionStorage.setItem("cxw.token", token);
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <MemoryRouter initialEntries={[route]}>
        <AuthProvider>
          {ui}
          <LocationProbe />
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}
