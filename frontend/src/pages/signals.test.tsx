import { describe, expect, test } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { installFakeApi, signalAnalysis, signalProposals } from "../test/fakeApi";
import { currentLocation, renderApp } from "../test/render";

const callback = signalAnalysis.report.patterns.find((p) => p.hypotheses[0]?.id === "callback_url_change" && p.signal_type === "api_error")!;

describe("signals", () => {
  test("raised patterns with sparkline, spike, merchants, stage association and cause; all patterns on demand", async () => {
    const { calls } = installFakeApi();
    renderApp("/signals");
    const table = await screen.findByRole("table", { name: "Signal patterns" });
    const rows = within(table).getAllByTestId("pattern-row");
    expect(rows).toHaveLength(signalAnalysis.report.raised);
    const first = rows.find((r) => r.textContent!.includes("CHECKOUT_CALLBACK_FAILED"))!;
    expect(within(first).getByRole("img", { name: /Signals per hour of/ })).toBeInTheDocument();
    expect(first).toHaveTextContent("raised");
    expect(first).toHaveTextContent(/Post recent (×|∞)/);
    expect(first).toHaveTextContent(/Callback url change \d+%/);
    expect(within(first).getByRole("link")).toHaveAttribute("href", `/signals/patterns/${callback.id}`);
    await userEvent.click(screen.getByRole("button", { name: /^All/ }));
    await waitFor(() => expect(currentLocation).toBe("/signals?show=all"));
    expect(screen.getAllByTestId("pattern-row")).toHaveLength(signalAnalysis.report.patterns.length);
    await userEvent.click(screen.getByRole("button", { name: "Run analysis" }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.path === "/api/signals/analysis")).toBe(true));
  }, 15_000); // renders every pattern's sparkline: near vitest's 5 s default on a loaded 2-core machine

  test("a pattern: stage table, causes with evidence, proposals an engineer approves or rejects with a reason", async () => {
    const { calls } = installFakeApi();
    renderApp(`/signals/patterns/${callback.id}`);
    expect(await screen.findByRole("table", { name: "Migration stage association" })).toHaveTextContent("Post recent");
    const causes = screen.getAllByTestId("cause");
    expect(causes[0]).toHaveTextContent("Callback url change");
    expect(causes[0]).toHaveTextContent(/CHECKOUT_CALLBACK_FAILED matches/);
    expect(screen.getByRole("list", { name: "Sample signals" }).children).toHaveLength(5);
    const rows = within(screen.getByRole("table", { name: "Proposed actions" })).getAllByTestId("proposal-row");
    expect(rows.map((r) => r.textContent)).toEqual(expect.arrayContaining([expect.stringContaining("Escalate platform team")]));
    const approve = screen.getAllByRole("button", { name: /^Approve proposal/ })[0];
    await userEvent.click(approve);
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && /proposals\/\d+\/approve$/.test(c.path))).toBe(true));
    const reject = screen.getAllByRole("button", { name: /^Reject proposal/ })[1];
    expect(reject).toBeDisabled(); // a rejection needs a reason
    const input = screen.getAllByPlaceholderText("Reason (required to reject)")[1];
    await userEvent.type(input, "merchants were told already");
    await userEvent.click(reject);
    await waitFor(() => expect(calls.find((c) => /reject$/.test(c.path))?.body).toEqual({ reason: "merchants were told already" }));
  });

  test("PMs read the approval queue but cannot decide", async () => {
    installFakeApi();
    renderApp("/signals/approvals", "pm-token");
    const table = await screen.findByRole("table", { name: "Signal proposals" });
    expect(within(table).getAllByTestId("proposal-row").length).toBeGreaterThan(3);
    expect(within(table).queryAllByRole("button", { name: /Approve/ })).toHaveLength(0);
    expect(within(table).getAllByText("waiting for an engineer").length).toBeGreaterThan(0);
    expect(screen.getByRole("link", { name: "Signals" })).toHaveAttribute("href", "/signals");
  });

  test("the queue opens a proposal's audit trail", async () => {
    installFakeApi({
      "GET /api/audit": (c) => ({
        data: c.query.get("entity_id") === "1"
          ? [
              { id: 3, at: "2026-03-16T09:05:00", actor: "ana", actor_role: "engineer", action: "signal_proposal.dry_run", entity_type: "signal_proposal", entity_id: "1", before: null, after: { status: "approved" } },
              { id: 2, at: "2026-03-16T09:04:00", actor: "ana", actor_role: "engineer", action: "signal_proposal.approve", entity_type: "signal_proposal", entity_id: "1", before: null, after: { reason: "on call knows" } },
              { id: 1, at: "2026-03-16T09:00:00", actor: "ana", actor_role: "engineer", action: "signal_proposal.propose", entity_type: "signal_proposal", entity_id: "1", before: null, after: {} },
            ]
          : [],
        count: 3,
      }),
    });
    renderApp("/signals/approvals");
    await screen.findByRole("table", { name: "Signal proposals" });
    await userEvent.click(screen.getAllByRole("button", { name: "Audit trail" })[0]);
    const trail = await screen.findByRole("list", { name: "Audit trail of proposal 1" });
    expect(within(trail).getAllByRole("listitem").map((li) => li.textContent)).toEqual([
      expect.stringContaining("propose by ana"),
      expect.stringContaining("approve by ana — “on call knows”"),
      expect.stringContaining("dry_run by ana"),
    ]);
  });

  test("a dry run shows what would be sent and to which tool with no URL configured; a real run says why it cannot", async () => {
    const outbound = signalProposals.find((p) => p.tool === "webhook_post" || p.tool === "escalation")!;
    Object.assign(outbound, { status: "approved", decided_by: "ana" });
    try {
      installFakeApi();
      renderApp("/signals/approvals?status=approved");
      await userEvent.click(await screen.findByRole("button", { name: `Dry run proposal ${outbound.id}` }));
      const sent = await screen.findByText(`would send to ${outbound.tool} (no URL configured)`);
      expect(sent.closest("details")).toHaveTextContent(`"action": "${outbound.action}"`);
      expect(sent.closest("details")).toHaveTextContent("a real run would be refused");
      await userEvent.click(screen.getByRole("button", { name: `Run proposal ${outbound.id} for real` }));
      expect(await screen.findByRole("alert")).toHaveTextContent(`tool ${outbound.tool} has no URL`);
    } finally {
      Object.assign(outbound, { status: "proposed", decided_by: null, result: null });
    }
  }, 15_000);
});
