import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { installFakeApi, reconciliationFindings } from "../test/fakeApi";
import { currentLocation, renderApp } from "../test/render";

const run1 = reconciliationFindings.run1;
const run2 = reconciliationFindings.run2;
const optionOf = (el: HTMLElement) => JSON.parse(el.getAttribute("data-option")!);

describe("reconciliations", () => {
  test("the runs: progress while one runs, counts and the run each was compared with once done", async () => {
    installFakeApi();
    renderApp("/reconciliations");
    const table = await screen.findByRole("table", { name: "Reconciliation runs" });
    const rows = within(table).getAllByTestId("recon-run");
    expect(rows).toHaveLength(3);
    expect(within(rows[0]).getByRole("progressbar", { name: "Run 3: joining and comparing, 35%" })).toBeInTheDocument();
    expect(rows[1]).toHaveTextContent(`${run2.counts.lost}`);
    expect(rows[1]).toHaveTextContent(`${run2.findings.length} (0)`);
    expect(within(rows[1]).getByRole("link", { name: "#1" })).toHaveAttribute("href", "/reconciliations/1");
    expect(rows[2]).toHaveTextContent(`${run1.findings.length} (1)`);
    expect(screen.getByRole("form", { name: "Start a reconciliation" })).toBeInTheDocument();
  });

  test("PMs read the runs but get no start form", async () => {
    installFakeApi();
    renderApp("/reconciliations", "pm-token");
    await screen.findByRole("table", { name: "Reconciliation runs" });
    expect(screen.queryByRole("form", { name: "Start a reconciliation" })).toBeNull();
    expect(screen.getByRole("navigation", { name: "Main" })).toHaveTextContent("Reconciliations");
  });

  test("a run: summary, interactive chart by reason code, patterns with evidence, cause and remediation", async () => {
    installFakeApi();
    renderApp("/reconciliations/1", "pm-token");
    const summary = await screen.findByRole("region", { name: "Summary" });
    const balance = run1.amounts.find((a) => a.column === run1.amount_column)!;
    expect(within(summary).getByRole("group", { name: "Lost records" })).toHaveTextContent(`${run1.counts.lost}`);
    expect(within(summary).getByRole("group", { name: "Lost records" })).toHaveTextContent(
      `${balance.missing.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })} Balance missing`);
    expect(within(summary).getByRole("group", { name: "Unexpected records" })).toHaveTextContent(`${run1.counts.unexpected}`);
    expect(within(summary).getByRole("group", { name: "Mismatched records" })).toHaveTextContent(`${run1.counts.with_differences}`);
    expect(within(summary).getByRole("group", { name: "Impacted customers" })).toHaveTextContent(`${run1.counts.impacted_customers}`);

    const chart = screen.getByTestId("reason-chart");
    const bars = optionOf(chart).series[0].data.map((d: { value: number }) => d.value);
    expect(bars).toEqual([...run1.reasons].map((r) => r.mismatches).sort((a, b) => b - a));
    expect(optionOf(chart).yAxis.data[0]).toBe("Product: GAS_STD → GAS_FIX");
    await userEvent.click(screen.getByRole("button", { name: "Customers" }));
    await waitFor(() => expect(currentLocation).toBe("/reconciliations/1?measure=customers"));
    expect(optionOf(screen.getByTestId("reason-chart")).series[0].data.map((d: { value: number }) => d.value))
      .toEqual([...run1.reasons].map((r) => r.customers).sort((a, b) => b - a));

    const patterns = within(screen.getByRole("table", { name: "Mismatch patterns" })).getAllByTestId("recon-pattern");
    expect(patterns).toHaveLength(run1.findings.length);
    const product = patterns.find((r) => r.textContent!.includes("GAS_STD → GAS_FIX"))!;
    expect(product).toHaveTextContent("systematic");
    expect(product).toHaveTextContent("105 of 105 records with Region=north&Tariff=T3 (100.0%) against 0 of");
    expect(product).toHaveTextContent("mapping rule");
    expect(product).toHaveTextContent("Correct the mapping rule that turns 'GAS_STD' into 'GAS_FIX'");
    expect(within(product).getByRole("table", { name: "Slices of Product: GAS_STD → GAS_FIX" })).toHaveTextContent("Region = north · Tariff = T3");

    await userEvent.click(within(screen.getByRole("group", { name: "Select a reason code" })).getByRole("button", { name: /^record lost/ }));
    await waitFor(() => expect(currentLocation).toContain("reason=record+lost"));
    const lost = run1.reasons.find((r) => r.reason === "record lost")!;
    expect(screen.getByTestId("selected-reason")).toHaveTextContent(`record lost: ${lost.mismatches} mismatches in ${lost.records} records of ${lost.customers} customers`);
    expect(patterns.find((r) => r.textContent!.includes("record lost"))).toHaveAttribute("aria-current", "true");
    expect(optionOf(screen.getByTestId("reason-chart")).series[0].data.filter((d: { itemStyle: { color: string } }) => d.itemStyle.color === "#2453a6")).toHaveLength(1);

    await userEvent.click(screen.getByRole("button", { name: "systematic" }));
    expect(screen.getAllByTestId("recon-pattern")).toHaveLength(1);
    expect(screen.getByText("This run was not compared with an earlier one.")).toBeInTheDocument();
  });

  test("a run compared with its previous one: patterns resolved, new and persisting, and its history", async () => {
    installFakeApi();
    renderApp("/reconciliations/2");
    const compared = await screen.findByRole("table", { name: "Runs compared" });
    const rows = within(compared).getAllByTestId("compared-pattern");
    expect(rows).toHaveLength(run2.previous!.by_pattern.length);
    const product = rows.find((r) => r.textContent!.includes("GAS_STD → GAS_FIX"))!;
    expect(product).toHaveTextContent("resolved");
    expect(product).toHaveTextContent("105");
    expect(rows.find((r) => r.textContent!.includes("record lost"))).toHaveTextContent("persisting");
    expect(screen.getByText(/1 pattern\(s\) resolved, 0 new, 6 persisting/)).toBeInTheDocument();
    const history = screen.getByRole("list", { name: "Run history" });
    expect(within(history).getAllByRole("listitem")).toHaveLength(2);
    expect(within(history).getByRole("link", { name: "run #1" })).toHaveAttribute("href", "/reconciliations/1");
  });

  describe("downloads", () => {
    beforeEach(() => {
      vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => undefined); // jsdom does not navigate
      Object.defineProperty(URL, "createObjectURL", { value: vi.fn(() => "blob:file"), configurable: true });
      Object.defineProperty(URL, "revokeObjectURL", { value: vi.fn(), configurable: true });
    });
    afterEach(() => vi.restoreAllMocks());

    test("reports, chart and every export with its rows", async () => {
      const { calls } = installFakeApi();
      renderApp("/reconciliations/1", "pm-token");
      const exports = await screen.findByRole("table", { name: "Exports" });
      expect(within(exports).getAllByRole("row")).toHaveLength(run1.exports.length + 1);
      await userEvent.click(within(exports).getByRole("button", { name: "Download impacted_customers.csv" }));
      await userEvent.click(screen.getByRole("button", { name: "Report (PDF)" }));
      await userEvent.click(screen.getByRole("button", { name: "Chart (PNG)" }));
      await waitFor(() => expect(calls.map((c) => c.path)).toEqual(expect.arrayContaining([
        "/api/reconciliations/1/exports/impacted_customers.csv", "/api/reconciliations/1/report/pdf", "/api/reconciliations/1/chart",
      ])));
      expect(HTMLAnchorElement.prototype.click).toHaveBeenCalledTimes(3);
    });
  });

  test("a running run shows its step; the page polls until it ends", async () => {
    installFakeApi();
    renderApp("/reconciliations/3");
    expect(await screen.findByRole("progressbar", { name: "Run 3: joining and comparing, 35%" })).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("joining and comparing…");
  });

  test("an engineer uploads two files with the CLI's options and lands on the new run", async () => {
    const { calls } = installFakeApi();
    renderApp("/reconciliations");
    const form = await screen.findByRole("form", { name: "Start a reconciliation" });
    const start = within(form).getByRole("button", { name: "Start reconciliation" });
    expect(start).toBeDisabled();
    await userEvent.upload(within(form).getByLabelText(/^Legacy records/), new File(["Account ID;Balance\n1;$5\n"], "legacy export.csv"));
    await userEvent.upload(within(form).getByLabelText("Migrated records"), new File(["account_id,balance\n1,5\n"], "migrated.csv.gz"));
    await userEvent.type(within(form).getByLabelText("Key column(s)"), "account_id");
    await userEvent.type(within(form).getByLabelText("Tolerances (optional)"), "balance=0.01, deposit=1");
    await userEvent.selectOptions(within(form).getByLabelText("Compare with run"), "2");
    await userEvent.click(start);
    await waitFor(() => expect(currentLocation).toBe("/reconciliations/3"));
    const body = calls.find((c) => c.method === "POST" && c.path === "/api/reconciliations/upload")!.body as FormData;
    expect((body.get("legacy") as File).name).toBe("legacy export.csv");
    expect((body.get("migrated") as File).name).toBe("migrated.csv.gz");
    expect(body.get("key")).toBe("account_id");
    expect(body.getAll("tolerance")).toEqual(["balance=0.01", "deposit=1"]);
    expect(body.get("previous_run_id")).toBe("2");
    expect(body.get("reason_column")).toBeNull();
  });

  test("files on the server go as JSON; the API's one-line error is shown as is", async () => {
    const { calls } = installFakeApi({
      "POST /api/reconciliations": () => ({ status: 422, body: { detail: "legacy_path /data/l.csv: key column 'acct' not found (columns: account_id)" } }),
    });
    renderApp("/reconciliations");
    const form = await screen.findByRole("form", { name: "Start a reconciliation" });
    await userEvent.click(within(form).getByRole("button", { name: "Files on the server" }));
    await userEvent.type(within(form).getByLabelText("Legacy file on the server"), "/data/l.csv");
    await userEvent.type(within(form).getByLabelText("Migrated file on the server"), "/data/m.parquet");
    await userEvent.type(within(form).getByLabelText("Key column(s)"), "acct");
    await userEvent.type(within(form).getByLabelText("Tolerances (optional)"), "balance=0.01");
    await userEvent.click(within(form).getByRole("button", { name: "Start reconciliation" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("legacy_path /data/l.csv: key column 'acct' not found");
    expect(calls.find((c) => c.method === "POST" && c.path === "/api/reconciliations")!.body).toEqual({
      legacy_path: "/data/l.csv", migrated_path: "/data/m.parquet", key: ["acct"], compare: [], tolerances: { balance: 0.01 },
      key_normalize: "trim,case,zeros", reason_column: null, customer_column: null, previous_run_id: null, name: null,
    });
    expect(currentLocation).toBe("/reconciliations");
  });
});
