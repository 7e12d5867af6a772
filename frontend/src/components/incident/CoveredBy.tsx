// An incident whose top cause is another incident's: the analysis recommends once, for that incident
// (`recommendations_ref`, resolved by the API to `recommendations_from`), so this one links there
// instead of saying it has no recommendations or plan.
import { Link } from "react-router";
import { Empty } from "../States";

export function CoveredBy({ from, what, to, inline = false }: { from: number; what: string; to: string; inline?: boolean }) {
  const link = <Link to={to}>see incident #{from}</Link>;
  if (inline)
    return (
      <p className="muted" data-testid="covered-by">
        Same cause as incident #{from}; its {what} cover this one too: {link}.
      </p>
    );
  return (
    <div data-testid="covered-by">
      <Empty title={`Same cause as incident #${from}`}>
        The analysis recommends once per cause: the {what} of incident #{from} cover this one too. {link}.
      </Empty>
    </div>
  );
}
