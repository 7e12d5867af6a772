import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { installFakeApi, WHATIF_RUN_ID, whatIfResult, whatIfRun } from "../test/fakeApi";
import { currentLocation, renderApp } from "../test/render";
import { actions } from "../test/fixtures";

beforeAll(() => {
  Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 400 });
  Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 900 });
});
afterAll(() => {
  delete (HTMLElement.prototype as unknown as Record<string, unknown>).clientHeight;
  delete (HTMLElement.prototype as unknown as Record<string, unknown>).clientWidth;
});

describe("sign-in", () => {
  test("without a token every page sends you to sign in; a bad token is refused, a good one lands on the overview", async () => {
    installFakeApi();
    renderApp("/incidents/7", null);
    const input = await screen.findByLabelText("API token");
    await userEvent.type(input, "wrong");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("no longer valid");
    expect(sessionStorage.getItem("cxw.token")).toBeNull();
    await userEvent.clear(input);
    await userEvent.type(input, "eng-token");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(currentLocation).toBe("/incidents/7"));
    expect(sessionStorage.getItem("cxw.token")).toBe("eng-token");
  });

  test("a PM is taken to the summary", async () => {
    installFakeApi();
    renderApp("/", "pm-token");
    await waitFor(() => expect(currentLocation).toBe("/summary"));
  });
});

describe("overview", () => {
  test("headline metrics, the chart with incident windows and the open incidents by severity", async () => {
    installFakeApi();
    renderApp("/overview");
    // the composite CX score leads; its components follow
    expect(await screen.findByRole("button", { name: "Show CX score over time" })).toHaveAttribute("aria-pressed", "true");
    const chart = await screen.findByTestId("overview-chart");
    const option = JSON.parse(chart.getAttribute("data-option")!);
    expect(option.series[0].name).toBe("CX score");
    expect(option.series[0].markArea.data).toHaveLength(1); // incident 8 is on cx_score
    expect(option.series[0].markLine.data.map((m: { name: string }) => m.name)).toEqual(["batching_threshold_4"]);
    expect(option.series[0].markLine.data[0].label.show).toBe(true); // the likely cause of open incidents
    const open = await screen.findByRole("list", { name: "Top open incidents" });
    expect(within(open).getAllByRole("link").map((a) => a.getAttribute("href"))).toEqual(["/incidents/7", "/incidents/8"]);
    await userEvent.click(screen.getByRole("button", { name: "Show On time rate over time" }));
    await waitFor(() => expect(currentLocation).toBe("/overview?metric=on_time_rate"));
    await waitFor(() => expect(JSON.parse(screen.getByTestId("overview-chart").getAttribute("data-option")!).series[0].name).toBe("On time rate"));
  });
});

describe("incidents", () => {
  test("filters live in the URL and reach the API; engineers change status inline", async () => {
    const { calls } = installFakeApi();
    renderApp("/incidents");
    const table = await screen.findByRole("table", { name: "Incidents" });
    expect(within(table).getAllByRole("row")).toHaveLength(4);
    await userEvent.selectOptions(screen.getByLabelText("Status", { selector: "select#f-status" }), "open");
    await waitFor(() => expect(currentLocation).toBe("/incidents?status=open"));
    await waitFor(() => expect(within(screen.getByRole("table", { name: "Incidents" })).getAllByRole("row")).toHaveLength(2));
    expect(calls.some((c) => c.path === "/api/incidents" && c.query.get("status") === "open")).toBe(true);
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Status of incident 7" }), "acknowledged");
    await waitFor(() => expect(calls.some((c) => c.method === "PATCH" && c.path === "/api/incidents/7")).toBe(true));
    expect(calls.find((c) => c.method === "PATCH")!.body).toEqual({ status: "acknowledged" });
  });

  test("an empty result says so", async () => {
    installFakeApi();
    renderApp("/incidents?severity=high");
    expect(await screen.findByText("No incidents match these filters")).toBeInTheDocument();
  });
});

describe("incident", () => {
  test("drill-down: click a slice to see its series, then drill into its children", async () => {
    const { calls } = installFakeApi();
    renderApp("/incidents/7");
    expect(await screen.findByRole("heading", { name: /On time rate fell 2\.90 pp/ })).toBeInTheDocument();
    const chart = await screen.findByTestId("incident-chart");
    const option = JSON.parse(chart.getAttribute("data-option")!);
    expect(option.series.map((s: { name: string }) => s.name)).toContain("Expected range");
    const table = await screen.findByRole("table", { name: /Children of All traffic/ });
    await userEvent.click(within(table).getByText("region = east"));
    await waitFor(() => expect(currentLocation).toBe("/incidents/7?slice=region%3Deast"));
    expect(await screen.findByTestId("slice-detail")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Drill into its children" }));
    await waitFor(() => expect(currentLocation).toBe("/incidents/7?parent=region%3Deast"));
    await waitFor(() => expect(calls.some((c) => c.path === "/api/incidents/7/slices" && c.query.get("parent") === "region=east")).toBe(true));
    expect(screen.getByRole("navigation", { name: "Drill-down path" })).toHaveTextContent("region = east");
  });

  test("causes ranked with evidence: DiD against controls, event study, SHAP, timing, placebos", async () => {
    const { calls } = installFakeApi();
    renderApp("/incidents/7?tab=causes");
    const causes = await screen.findAllByTestId("cause");
    expect(causes).toHaveLength(2);
    expect(causes[0]).toHaveTextContent("Policy change: batching_threshold_4");
    expect(causes[0]).toHaveTextContent("87%");
    expect(screen.getByTestId("evidence-did")).toHaveTextContent("−8.77 pp");
    expect(screen.getByTestId("evidence-did")).toHaveTextContent("95% CI [−10.49 pp, −7.05 pp]");
    expect(await screen.findByTestId("did-chart")).toBeInTheDocument();
    // treated = east + west, control = the other region values at the top level
    await waitFor(() => expect(calls.filter((c) => c.path === "/api/workspaces/1/series").map((c) => c.query.get("slice"))).toEqual(expect.arrayContaining(["region=east", "region=west", "region=north"])));
    expect(screen.getByTestId("event-study-chart")).toBeInTheDocument();
    expect(screen.getByTestId("shap-chart")).toBeInTheDocument();
    expect(screen.getByTestId("timing-chart")).toBeInTheDocument();
    expect(screen.getByTestId("placebo-chart")).toBeInTheDocument();
    // placebos in the metric's units, each test with its decision rule and the numbers it decided on
    const placebo = screen.getByTestId("evidence-placebo_scope");
    expect(placebo).toHaveTextContent("−8.77 pp placebos −0.60 pp to +0.40 pp");
    expect(placebo).not.toHaveTextContent("z =");
    expect(within(placebo).getByTestId("evidence-rule")).toHaveTextContent("0 of 4 placebo |z| as large, largest 0.71");
    expect(within(screen.getByTestId("evidence-timing")).getByTestId("evidence-rule")).toHaveTextContent("? yes → on time");
    // the candidates ruled out, each with the test that did it
    const ruled = screen.getByRole("table", { name: "Candidates ruled out" });
    expect(within(ruled).getByText("web_release_4")).toBeInTheDocument();
    expect(ruled).toHaveTextContent("Timing against change events");
    expect(ruled).toHaveTextContent("? no → not on time");
  });

  test("one incident per cause: its symptoms in its own scope, each one charted on demand", async () => {
    installFakeApi();
    renderApp("/incidents/7");
    expect(await screen.findByText(/one cause, 2 metrics moved/)).toBeInTheDocument();
    const table = await screen.findByRole("table", { name: "Symptoms" });
    const rows = within(table).getAllByTestId("symptom");
    expect(rows.map((r) => within(r).getByRole("button").textContent)).toEqual(["On time rate", "CX score"]);
    expect(rows[0]).toHaveTextContent("91.1% → 88.2%");
    expect(rows[0]).toHaveTextContent("−2.90 pp");
    expect(rows[0]).toHaveTextContent("High");
    expect(rows[0]).toHaveTextContent("−355 records/day");
    expect(rows[1]).toHaveTextContent("Medium");
    expect(screen.getByText("region east and west", { selector: "dd" })).toBeInTheDocument();
    await userEvent.click(within(rows[1]).getByRole("button", { name: "CX score" }));
    expect(await screen.findByRole("heading", { name: "CX score" })).toBeInTheDocument();
    expect(screen.getByTestId("incident-chart").getAttribute("aria-label") ?? "").toMatch(/CX score/);
  });

  test("recommendations with intervals and tradeoffs; a what-if runs against the API", async () => {
    const { calls } = installFakeApi();
    renderApp("/incidents/7?tab=actions");
    const rec = await screen.findByTestId("recommendation");
    expect(rec).toHaveTextContent("+5.10 pp");
    expect(rec).toHaveTextContent("95% CI [+3.80 pp, +6.40 pp]");
    expect(within(rec).getByLabelText("Tradeoffs")).toHaveTextContent("Courier minutes per order +1.8 min");
    expect(await within(rec).findByTestId("approval-state")).toHaveTextContent("Proposed");
    expect(screen.getByLabelText("Driver")).toHaveValue("batching_threshold");
    await userEvent.clear(screen.getByLabelText("Value"));
    await userEvent.type(screen.getByLabelText("Value"), "3");
    await userEvent.click(screen.getByRole("button", { name: "Run what-if" }));
    const result = await screen.findByTestId("whatif-result");
    expect(result).toHaveTextContent("batching_threshold set to 3");
    expect(result).toHaveTextContent("On time rate +4.00 pp 95% CI [+3.00 pp, +5.00 pp]");
    expect(result).toHaveTextContent("Courier minutes per order +1.2 min");
    expect(calls.find((c) => c.path.endsWith("/whatif/runs"))!.body).toEqual({ changes: [{ feature: "batching_threshold", op: "set", value: 3 }], scope: "region=east;region=west", window_days: 7 });
    expect(calls.some((c) => c.method === "GET" && c.path === `/api/incidents/7/whatif/runs/${WHATIF_RUN_ID}`)).toBe(true);
    expect(screen.queryByTestId("whatif-progress")).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Run what-if" })).toBeEnabled();
  });

  test("a what-if shows its stage and progress while it runs, then its answer", async () => {
    const runUrl = `GET /api/incidents/7/whatif/runs/${WHATIF_RUN_ID}`;
    let polls = 0;
    const { calls } = installFakeApi({
      [runUrl]: () => (++polls < 3
        ? whatIfRun(7, { stage: "fitting the outcome model (lightgbm, 12,000 records, 20 bootstrap replicates)", progress: 0.42, rows: 12000 })
        : whatIfRun(7, { status: "succeeded", stage: "done", progress: 1, result: whatIfResult({ changes: [{ feature: "batching_threshold", op: "set", value: 2 }] }) })),
    });
    renderApp("/incidents/7?tab=actions");
    await userEvent.click(await screen.findByRole("button", { name: "Run what-if" }));
    const progress = await screen.findByTestId("whatif-progress");
    await waitFor(() => expect(progress).toHaveTextContent("Fitting the outcome model (lightgbm, 12,000 records, 20 bootstrap replicates) · 42% · 12,000 records"));
    expect(within(progress).getByRole("progressbar")).toHaveValue(42);
    expect(screen.getByRole("button", { name: "Computing…" })).toBeDisabled();
    const result = await screen.findByTestId("whatif-result", {}, { timeout: 3000 });
    expect(result).toHaveTextContent("On time rate +4.00 pp 95% CI [+3.00 pp, +5.00 pp]");
    expect(screen.queryByTestId("whatif-progress")).not.toBeInTheDocument();
    expect(polls).toBe(3);
    const after = calls.length;
    await new Promise((r) => setTimeout(r, 700));
    expect(calls.length).toBe(after); // an ended run is not polled again
  });

  test("a failed what-if shows its one-line error", async () => {
    installFakeApi({
      [`GET /api/incidents/7/whatif/runs/${WHATIF_RUN_ID}`]: () =>
        whatIfRun(7, { status: "failed", stage: "reading the workspace", progress: 0.05, error: "'nope' is not a feature of cx (features: batching_threshold)" }),
    });
    renderApp("/incidents/7?tab=actions");
    await userEvent.click(await screen.findByRole("button", { name: "Run what-if" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("'nope' is not a feature of cx");
    expect(screen.queryByTestId("whatif-result")).not.toBeInTheDocument();
  });

  test("the experiment plan with its PDF", async () => {
    installFakeApi();
    renderApp("/incidents/7?tab=plan");
    const plan = await screen.findByTestId("plan");
    expect(plan).toHaveTextContent("Batching limit test in east and west");
    expect(plan).toHaveTextContent("48,000");
    expect(within(plan).getByRole("button", { name: "Download PDF" })).toBeInTheDocument();
  });

  test("an unknown incident shows a not-found state", async () => {
    installFakeApi();
    renderApp("/incidents/99");
    expect(await screen.findByRole("alert")).toHaveTextContent("Not found");
  });
});

describe("an incident as cxw analyze writes it", () => {
  test("recommendations: effect with interval, verdict, tradeoffs, what-if on the driver", async () => {
    const { calls } = installFakeApi();
    renderApp("/incidents/9?tab=actions");
    const recs = await screen.findAllByTestId("recommendation");
    expect(recs).toHaveLength(1);
    expect(recs[0]).toHaveTextContent("Revert batching_threshold from 4 to 2 in region east and west");
    expect(recs[0]).toHaveTextContent("Expected effect: +4.12 pts 95% CI [+3.72 pts, +4.52 pts]"); // cx score, a composite of rates, in points
    expect(recs[0]).toHaveTextContent("Recommended with cost");
    expect(within(recs[0]).getByLabelText("Tradeoffs")).toHaveTextContent("Courier minutes per order +3.6 min [+3.4 min, +3.8 min]");
    expect(screen.getByLabelText("Driver")).toHaveValue("batching_threshold");
    expect(screen.getByLabelText("Change")).toHaveValue("set");
    expect(screen.getByLabelText("Scope")).toHaveValue("region=east;region=west");
    await userEvent.click(screen.getByRole("button", { name: "Run what-if" }));
    await waitFor(() => expect(calls.find((c) => c.path.endsWith("/whatif/runs"))?.body).toEqual({ changes: [{ feature: "batching_threshold", op: "set", value: 2 }], scope: "region=east;region=west", window_days: 7 }));
  });

  test("an action proposed by the job is found by its title whatever its key", async () => {
    installFakeApi({
      "GET /api/actions": () => ({
        data: [{ ...actions[0], incident_id: 9, key: "{'id': 'revert_policy_threshold', ...}", title: "Revert batching_threshold from 4 to 2 in region east and west" }],
        count: 1,
      }),
    });
    renderApp("/incidents/9?tab=actions");
    const recs = await screen.findAllByTestId("recommendation");
    expect(await within(recs[0]).findByTestId("approval-state")).toHaveTextContent("Proposed");
  });

  test("causes chart the DiD effect, timing and the event study from the typed evidence", async () => {
    installFakeApi();
    renderApp("/incidents/9?tab=causes");
    await screen.findAllByTestId("cause");
    expect(screen.getByTestId("evidence-did")).toHaveTextContent("−4.12 pts");
    expect(screen.getByTestId("timing-chart")).toBeInTheDocument();
    expect(screen.getByTestId("event-study-chart")).toBeInTheDocument();
  });

  test("the PM reads the engine's own summary and tradeoff table", async () => {
    installFakeApi();
    renderApp("/summary?incident=9", "pm-token");
    const summary = await screen.findByTestId("pm-summary");
    expect(summary).toHaveTextContent("In short");
    expect(summary).toHaveTextContent("Cx score fell from 94.4 to 90.2 in region east and west");
    const table = within(summary).getByRole("table", { name: "Expected effect on every metric" });
    expect(within(table).getAllByRole("row").length).toBeGreaterThan(3);
    expect(table).toHaveTextContent("worse");
  });
});

describe("recommendation status: inconclusive and no action", () => {
  test("an inconclusive incident shows labelled next steps (check and what decides it), no actions, no plan", async () => {
    installFakeApi();
    const first = renderApp("/incidents/11?tab=actions");
    const card = await screen.findByTestId("next-steps");
    expect(within(card).getByRole("heading", { name: "Next steps" })).toBeInTheDocument();
    expect(card).toHaveTextContent("Inconclusive cause");
    const steps = within(card).getAllByTestId("next-step");
    expect(steps).toHaveLength(2);
    expect(steps[0]).toHaveTextContent("Check the candidate cause batching_threshold_4");
    expect(steps[0]).toHaveTextContent("Decided by: the same comparison at dates when nothing changed");
    expect(screen.queryByText(/no action in its catalogue/)).not.toBeInTheDocument();
    expect(screen.queryByTestId("recommendation")).not.toBeInTheDocument();
    first.unmount();
    renderApp("/incidents/11?tab=plan");
    const plan = await screen.findByTestId("plan");
    expect(plan).toHaveTextContent("The cause is inconclusive");
  });

  test("an incident with no catalogue action says so, with no next steps", async () => {
    installFakeApi();
    renderApp("/incidents/12?tab=actions");
    const none = await screen.findByTestId("no-recommendations");
    expect(none).toHaveTextContent("The engine had no action in its catalogue for these causes.");
    expect(screen.queryByTestId("next-steps")).not.toBeInTheDocument();
  });

  test("the PM summary lists the next steps of an inconclusive incident in plain language", async () => {
    installFakeApi();
    renderApp("/summary?incident=11", "pm-token");
    const summary = await screen.findByTestId("pm-summary");
    const next = within(summary).getByTestId("summary-next-steps");
    expect(next).toHaveTextContent("No action yet. The analysis could not pin down the cause");
    expect(summary).toHaveTextContent("The leading candidate is Policy change: batching_threshold_4 (confidence 87%), but the evidence is not strong enough to act on.");
    expect(summary).not.toHaveTextContent("The most likely cause is");
    expect(within(next).getAllByTestId("next-step")).toHaveLength(2);
    expect(next).toHaveTextContent("What would settle it: a slice that carries most of the drop");
    expect(summary).toHaveTextContent("Nothing to test until the next steps above settle the cause.");
    expect(summary).not.toHaveTextContent("No action recommended yet");
    expect(within(summary).queryByRole("button")).toBeNull();
  });

  test("the PM summary of a no-action incident says no known change fits", async () => {
    installFakeApi();
    renderApp("/summary?incident=12", "pm-token");
    const summary = await screen.findByTestId("pm-summary");
    expect(within(summary).getByTestId("summary-no-action")).toHaveTextContent("none of the changes the engine knows how to suggest fits this cause");
    expect(within(summary).queryByTestId("summary-next-steps")).toBeNull();
  });
});

describe("PM (read-only)", () => {
  test("the summary in plain language, with no write controls anywhere", async () => {
    installFakeApi();
    renderApp("/summary?incident=7", "pm-token");
    const summary = await screen.findByTestId("pm-summary");
    expect(summary).toHaveTextContent("On time rate fell from 91.1% to 88.2%");
    expect(summary).toHaveTextContent("The most likely cause is Policy change: batching_threshold_4 (confidence 87%)");
    expect(summary).toHaveTextContent("Where batching_threshold_4 applied (region = east and region = west), the metric moved −8.77 pp more than where it did not (likely −10.49 pp to −7.05 pp). The metric changed in the change's own hour (2026-01-15 12:00).");
    // before → after in the incident's own scope from its onset, and the other symptom of the same cause
    expect(summary).toHaveTextContent("On time rate fell from 91.1% to 88.2% (−2.90 pp) starting 15 Jan, 12:00 UTC in region east and west.");
    expect(summary).toHaveTextContent("The same cause moved CX score too.");
    expect(summary).toHaveTextContent("Roll back batching_threshold_4 in east and west");
    expect(within(summary).getByRole("button", { name: "Download PDF" })).toBeInTheDocument();
    const nav = screen.getByRole("navigation", { name: "Main" });
    expect(within(nav).queryByRole("link", { name: "Approvals" })).toBeNull();
    expect(within(nav).queryByRole("link", { name: "Audit" })).toBeNull();
    expect(screen.queryByRole("combobox")).toBeNull();
    expect(screen.queryByRole("textbox")).toBeNull();
  });

  test("the incident page hides status, feedback and proposals; approvals are for engineers", async () => {
    const { calls } = installFakeApi();
    renderApp("/incidents/7?tab=actions", "pm-token");
    await screen.findByTestId("recommendation");
    expect(screen.queryByRole("combobox", { name: /Status of incident/ })).toBeNull();
    expect(screen.queryByRole("form", { name: "Give feedback" })).toBeNull();
    expect(screen.queryByRole("button", { name: /for approval/ })).toBeNull();
    expect(calls.some((c) => c.path === "/api/actions")).toBe(false);
  });

  test("approvals and audit say they are for engineers", async () => {
    installFakeApi();
    renderApp("/approvals", "pm-token");
    expect(await screen.findByText("Approvals are for engineers")).toBeInTheDocument();
  });
});

describe("approvals and audit", () => {
  test("an engineer approves a proposed action", async () => {
    const { calls } = installFakeApi();
    renderApp("/approvals");
    const table = await screen.findByRole("table", { name: "Actions" });
    await userEvent.type(within(table).getByLabelText("Comment on action 1"), "go");
    await userEvent.click(within(table).getByRole("button", { name: /^Approve action 1/ }));
    await waitFor(() => expect(calls.find((c) => c.path === "/api/actions/1/approve")?.body).toEqual({ comment: "go" }));
  });

  test("the audit trail shows who changed what", async () => {
    installFakeApi();
    renderApp("/audit");
    const table = await screen.findByRole("table", { name: "Audit trail" });
    expect(table).toHaveTextContent("incident.update");
    expect(table).toHaveTextContent('status: "open" → "acknowledged"');
  });
});
