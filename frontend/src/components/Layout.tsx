import { NavLink, Outlet, useNavigate } from "react-router";
import { useAuth } from "../auth/AuthContext";
import { humanize } from "../lib/format";

const icons: Record<string, string> = {
  overview: "M2 12l3-4 3 2 4-6 2 3",
  incidents: "M8 2l6 11H2z M8 6v3 M8 11v.5",
  summary: "M3 3h10v10H3z M5 6h6 M5 8.5h6 M5 11h4",
  approvals: "M3 8.5l3 3 7-7",
  signals: "M2 9h2l2-5 3 9 2-4h3",
  reconciliations: "M2 4h5 M2 8h5 M2 12h5 M9 4h5 M9 8h5 M9 12h3",
  audit: "M4 2h8v12H4z M6 5h4 M6 8h4 M6 11h2",
  ask: "M3 3h10v7H7l-3 3v-3H3z M6 6.5h4",
};

function Icon({ name }: { name: string }) {
  return (
    <svg width="16" height="16" viewBox="0 0 16 16" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
      <path d={icons[name]} />
    </svg>
  );
}

export function Layout() {
  const { me, role, canAdminister, signOut } = useAuth();
  const navigate = useNavigate();
  const items =
    role === "pm"
      ? [["summary", "Summary"], ["overview", "Overview"], ["incidents", "Incidents"], ["signals", "Signals"],
         ["reconciliations", "Reconciliations"], ["ask", "Ask"]]
      : [["overview", "Overview"], ["incidents", "Incidents"], ["summary", "PM summary"], ["signals", "Signals"],
         ["reconciliations", "Reconciliations"], ["ask", "Ask"]];
  if (canAdminister) items.push(["approvals", "Approvals"], ["audit", "Audit"]);
  return (
    <div className="app">
      <aside className="sidebar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            <svg width="16" height="16" viewBox="0 0 16 16" fill="none" stroke="#fff" strokeWidth="1.8"><path d="M2 11l3.5-4 3 2.5L14 3" /></svg>
          </span>
          CX Workbench
        </div>
        <nav className="nav" aria-label="Main">
          {items.map(([to, label]) => (
            <NavLink key={to} to={`/${to}`}>
              <Icon name={to} />
              {label}
            </NavLink>
          ))}
        </nav>
        <div className="sidebar-foot">
          <div className="who">{me?.name}</div>
          <div>
            {humanize(role)} {role === "pm" && <span className="faint">· read-only</span>}
          </div>
          <button
            className="btn small ghost"
            style={{ color: "#cfd8e8", paddingLeft: 0 }}
            onClick={() => {
              signOut();
              navigate("/signin");
            }}
          >
            Sign out
          </button>
        </div>
      </aside>
      <main className="main">
        <Outlet />
      </main>
    </div>
  );
}
