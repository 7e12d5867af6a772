import { useState, type FormEvent } from "react";
import { useLocation, useNavigate } from "react-router";
import { useAuth } from "../auth/AuthContext";
import { errorMessage } from "../components/States";

export function SignInPage() {
  const { signIn } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from;
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!token.trim()) {
      setError("Paste the token that `cxw token create` printed.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const me = await signIn(token);
      navigate(from && from !== "/signin" && from !== "/" ? from : me.role === "pm" ? "/summary" : "/overview", { replace: true });
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="signin">
      <form className="card stack" onSubmit={submit} aria-labelledby="signin-title">
        <div>
          <h1 id="signin-title">CX Workbench</h1>
          <p className="muted">Sign in with an API token. Ask an engineer for one: <code>cxw token create --role pm</code>.</p>
        </div>
        <div className="field">
          <label htmlFor="token">API token</label>
          <input
            id="token"
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={token}
            onChange={(e) => setToken(e.target.value)}
            placeholder="cxw_…"
            autoFocus
          />
        </div>
        {error && <div className="alert error" role="alert">{error}</div>}
        <button className="btn primary" type="submit" disabled={busy} style={{ justifyContent: "center" }}>
          {busy ? "Checking…" : "Sign in"}
        </button>
        <p className="small faint" style={{ margin: 0 }}>The token is kept in this tab only (sessionStorage) and sent as a bearer token.</p>
      </form>
    </div>
  );
}
