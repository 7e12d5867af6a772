// The workbench end to end, against the real backend on generated demo data (started by e2e/run.sh):
// an engineer opens the overview and the top incident, drills into a slice, reads the causes and the plan,
// proposes and approves an action; a PM sees the summary with no write controls and gets 403 on a write.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { BASE, ENGINEER, PM, apiFetch, launch, shot, signIn } from "./browser";

let context: BrowserContext;
let close: () => Promise<void>;
let incidentPath = "";

beforeAll(async () => {
  expect(ENGINEER, "E2E_ENGINEER_TOKEN (run e2e/run.sh)").not.toBe("");
  ({ context, close } = await launch());
});

afterAll(async () => {
  await close?.();
});

describe("engineer", () => {
  let page: Page;
  beforeAll(async () => {
    page = await context.newPage();
  });

  test("signs in and sees the overview with metrics, incident windows and open incidents", async () => {
    await page.goto(`${BASE}/overview`);
    await page.waitForURL(/\/signin/);
    await shot(page, "signin", false);
    await signIn(page, ENGINEER);
    await page.waitForURL(/\/overview/);
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await page.locator('[data-testid="overview-chart"] canvas').first().waitFor();
    await page.getByRole("list", { name: "Top open incidents" }).waitFor();
    expect(await page.getByRole("list", { name: "Top open incidents" }).getByRole("link").count()).toBeGreaterThan(0);
    await shot(page, "overview");
  });

  test("lists incidents with filters in the URL and opens the top explained one", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Incidents" }).click();
    await page.getByRole("table", { name: "Incidents" }).waitFor();
    await page.getByLabel("Status", { exact: true }).selectOption("open");
    await page.waitForURL(/status=open/);
    await page.getByRole("table", { name: "Incidents" }).waitFor();
    await shot(page, "incidents");
    // the newest open incident with a likely cause (inconclusive ones have no causes to drill into)
    await page.getByRole("table", { name: "Incidents" }).locator('tbody tr[data-has-cause="true"]').first().getByRole("link").click();
    await page.waitForURL(/\/incidents\/\d+/);
    incidentPath = new URL(page.url()).pathname;
    await page.locator('[data-testid="incident-chart"] canvas').first().waitFor();
    await page.getByRole("heading", { name: "Regression" }).waitFor();
  });

  test("drills into the slice that carries most of the change", async () => {
    const table = page.getByTestId("slice-table");
    await table.locator("tbody tr[data-slice]").first().waitFor();
    await page.getByTestId("slice-heatmap").waitFor();
    await shot(page, "incident-drilldown");
    const first = table.locator("tbody tr[data-slice]").first();
    const key = await first.getAttribute("data-slice");
    await first.click();
    await page.waitForURL(/slice=/);
    const detail = page.getByTestId("slice-detail");
    await detail.locator("canvas").first().waitFor();
    await page.getByRole("button", { name: "Drill into its children" }).click();
    await page.waitForURL(new RegExp(`parent=${encodeURIComponent(key!).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    await page.getByRole("navigation", { name: "Drill-down path" }).waitFor();
    await expect.poll(() => page.getByRole("navigation", { name: "Drill-down path" }).textContent()).toContain(key!.split("=")[1]);
    await shot(page, "incident-drilldown-child");
  });

  test("shows ranked causes with their evidence", async () => {
    await page.getByRole("tab", { name: /Causes/ }).click();
    await page.waitForURL(/tab=causes/);
    const cause = page.getByTestId("cause").first();
    await cause.waitFor();
    expect(await cause.getAttribute("data-testid")).toBe("cause");
    expect(await page.locator('[data-testid^="evidence-"]').count()).toBeGreaterThan(0);
    await shot(page, "incident-causes");
  });

  test("shows the experiment plan and serves its PDF", async () => {
    await page.getByRole("tab", { name: "Experiment plan" }).click();
    await page.waitForURL(/tab=plan/);
    const plan = page.getByTestId("plan");
    await plan.waitFor();
    await shot(page, "incident-plan");
    const id = incidentPath.split("/").pop();
    if (await plan.getByRole("button", { name: "Download PDF" }).count()) {
      const pdf = await apiFetch(page, `/api/incidents/${id}/plan/pdf`, { token: ENGINEER });
      expect(pdf.status).toBe(200);
      expect(pdf.type).toContain("application/pdf");
    }
  });

  test("proposes a recommendation and approves it", async () => {
    // the analysis recommends for its most severe incidents: find one that has recommendations
    await page.getByRole("tab", { name: /Recommendations/ }).click();
    const hasRecs = async () => {
      const rec = page.getByTestId("recommendation").first();
      const none = page.getByText("No recommendations", { exact: true });
      await rec.or(none).first().waitFor();
      return (await rec.count()) > 0;
    };
    if (!(await hasRecs())) {
      await page.goto(`${BASE}/incidents?status=open`);
      const rows = page.getByRole("table", { name: "Incidents" }).locator("tbody tr");
      await rows.first().waitFor();
      const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.querySelector("td")?.textContent?.trim() ?? ""));
      let found = false;
      for (const id of ids) {
        await page.goto(`${BASE}/incidents/${id}?tab=actions`);
        if (await hasRecs()) {
          found = true;
          break;
        }
      }
      expect(found, "an open incident with recommendations").toBe(true);
    }
    const rec = page.getByTestId("recommendation").first();
    await rec.getByTestId("approval-state").waitFor();
    // the detection job proposes new incidents' recommendations itself; propose by hand when it did not
    const propose = rec.getByRole("button", { name: /^Propose .* for approval$/ });
    if (await propose.count()) await propose.click();
    await rec.getByText("Proposed").waitFor();
    await shot(page, "incident-recommendations");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Approvals" }).click();
    await page.getByRole("table", { name: "Actions" }).waitFor();
    await shot(page, "approvals");
    const approve = page.getByRole("button", { name: /^Approve action/ }).first();
    await approve.click();
    await page.getByRole("button", { name: "Approved" }).click();
    await page.getByRole("table", { name: "Actions" }).getByText("e2e-engineer").first().waitFor();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).click();
    await page.getByRole("table", { name: "Audit trail" }).getByText("action.approve").first().waitFor();
    await shot(page, "audit");
  });
});

describe("pm", () => {
  let page: Page;
  beforeAll(async () => {
    page = await context.newPage(); // its own sessionStorage: a separate sign-in
  });

  test("lands on the plain-language summary", async () => {
    await signIn(page, PM);
    await page.waitForURL(/\/summary/);
    await page.getByTestId("pm-summary").waitFor();
    await page.getByRole("heading", { name: "What we recommend" }).waitFor();
    await shot(page, "summary");
  });

  test("sees no write controls", async () => {
    await page.goto(`${BASE}${incidentPath}?tab=actions`);
    await page.getByTestId("recommendation").first().waitFor();
    expect(await page.getByRole("combobox", { name: /^Status of incident/ }).count()).toBe(0);
    expect(await page.getByRole("button", { name: /for approval$/ }).count()).toBe(0);
    expect(await page.getByRole("form", { name: "Give feedback" }).count()).toBe(0);
    await page.goto(`${BASE}/incidents`);
    await page.getByRole("table", { name: "Incidents" }).waitFor();
    expect(await page.getByRole("combobox", { name: /^Status of incident/ }).count()).toBe(0);
    const nav = page.getByRole("navigation", { name: "Main" });
    expect(await nav.getByRole("link", { name: "Approvals" }).count()).toBe(0);
    expect(await nav.getByRole("link", { name: "Audit" }).count()).toBe(0);
    await page.goto(`${BASE}/approvals?status=all`);
    await page.getByText("Approvals are for engineers").waitFor();
    expect(await page.getByRole("button", { name: /^(Approve|Reject) action/ }).count()).toBe(0);
  });

  test("gets 403 from the API on a write, and 401 without a token", async () => {
    const id = incidentPath.split("/").pop();
    const write = await apiFetch(page, `/api/incidents/${id}`, { method: "PATCH", token: PM, body: { status: "resolved" } });
    expect(write.status).toBe(403);
    const approve = await apiFetch(page, `/api/actions/1/approve`, { method: "POST", token: PM, body: { comment: "" } });
    expect(approve.status).toBe(403);
    const read = await apiFetch(page, `/api/incidents/${id}`, { token: PM });
    expect(read.status).toBe(200);
    const anonymous = await apiFetch(page, `/api/incidents`, { token: null });
    expect(anonymous.status).toBe(401);
  });
});
