// The workbench end to end, against the real backend on what `make demo` leaves (at 200k orders; made and
// served by e2e/run.sh). An engineer opens the overview and its top incident, drills into a slice (its
// series and its children), reads the causes with their evidence, runs a what-if, downloads the plan and
// approves an action; links carry the page's state; loading, empty and error states show; the pages fit a
// 1280 px and a laptop screen and every control has an accessible name. A PM sees the summary with no
// write controls and gets 403 from the API on every write.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, test } from "vitest";
import type { Page } from "playwright-core";
import { BASE, ENGINEER, ENGINEER_NAME, PM, apiFetch, browserForSpec, namelessControls, shot, sidewaysOverflow, signIn } from "./browser";

let topPath = ""; // the top open incident on the overview
let recPath = ""; // the incident whose recommendations the tests act on: the top one (every incident has its own)
let drillUrl = ""; // a drill-down two levels deep, with a slice selected

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const idOf = (path: string) => path.split("/").pop()!;
/** "dim=value&dim=value" as the drill-down path prints it: "dim = value". */
const crumbs = (key: string) => key.split("&").map((f) => f.replace("=", " = "));

const browser = browserForSpec();

describe("engineer", () => {
  let page: Page;
  beforeAll(async () => {
    page = await browser().newPage();
  });

  test("signs in and sees the overview with metrics, incident windows and open incidents", async () => {
    await page.goto(`${BASE}/overview`);
    await page.waitForURL(/\/signin/);
    await shot(page, "signin", false);
    await signIn(page, ENGINEER);
    await page.waitForURL(/\/overview/);
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await page.locator('[data-testid="overview-chart"] canvas').first().waitFor();
    const headline = page.getByRole("region", { name: "Headline metrics" });
    expect(await headline.getByRole("button").count()).toBeGreaterThan(1);
    // at first sign-in on what `make demo` leaves, every card has its numbers (the workspace's cube is stored)
    const cards = await headline.getByRole("button").count();
    await expect.poll(() => headline.getByText("last 24 h vs prior 7 days").count(), { timeout: 30_000 }).toBe(cards);
    expect(await headline.getByText("unavailable").count()).toBe(0);
    const top = page.getByRole("list", { name: "Top open incidents" });
    await top.waitFor();
    expect(await top.getByRole("link").count()).toBeGreaterThan(0);
    await shot(page, "overview");
  });

  test("lists incidents, filtered through the URL", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Incidents" }).click();
    const table = page.getByRole("table", { name: "Incidents" });
    await table.waitFor();
    const all = await table.locator("tbody tr").count();
    await page.getByLabel("Status", { exact: true }).selectOption("open");
    await page.waitForURL(/status=open/);
    await table.waitFor();
    const statuses = await table.getByRole("combobox", { name: /^Status of incident/ }).evaluateAll((els) => els.map((e) => (e as HTMLSelectElement).value));
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.length).toBeLessThanOrEqual(all);
    for (const s of statuses) expect(s).toBe("open");
    await shot(page, "incidents");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Overview" }).click();
    await page.getByRole("list", { name: "Top open incidents" }).waitFor();
  });

  test("opens the top open incident from the overview", async () => {
    const link = page.getByRole("list", { name: "Top open incidents" }).getByRole("link").first();
    const label = (await link.textContent())!.trim();
    await link.click();
    await page.waitForURL(/\/incidents\/\d+$/);
    topPath = new URL(page.url()).pathname;
    await page.locator('[data-testid="incident-chart"] canvas').first().waitFor();
    await page.getByRole("heading", { name: "Regression" }).waitFor();
    // the page is the incident the overview listed: same metric in its title
    const metric = label.replace(/\s+[+−-][\d.]+%$/, "");
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toContain(metric);
  });

  test("drills into a slice: its series, then its children", async () => {
    const table = page.getByTestId("slice-table");
    await table.locator("tbody tr[data-slice]").first().waitFor();
    await page.getByTestId("slice-heatmap").waitFor();
    await shot(page, "incident-drilldown");
    // from all traffic: the top slice of the change, its series against the total, then its children
    await page.getByRole("navigation", { name: "Drill-down path" }).getByRole("button", { name: "All traffic" }).click();
    await page.waitForURL(/parent=(\*|%2A)/);
    const first = table.locator("tbody tr[data-slice]").first();
    await first.waitFor();
    const key = (await first.getAttribute("data-slice"))!;
    expect(key).not.toContain("&"); // children of the total are single dimension values
    await first.click();
    await page.waitForURL(new RegExp(`slice=${escape(encodeURIComponent(key))}`));
    const detail = page.getByTestId("slice-detail");
    await detail.locator("canvas").first().waitFor();
    expect(await detail.getByRole("heading", { level: 2 }).textContent()).toBe(crumbs(key)[0]);
    await page.getByRole("button", { name: "Drill into its children" }).click();
    await page.waitForURL(new RegExp(`parent=${escape(encodeURIComponent(key))}`));
    await expect.poll(() => page.getByRole("navigation", { name: "Drill-down path" }).textContent()).toContain(crumbs(key)[0]);
    const children = table.locator("tbody tr[data-slice]");
    await children.first().waitFor();
    const keys = await children.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-slice") ?? ""));
    expect(keys.length).toBeGreaterThan(1);
    for (const k of keys) expect(k.split("&")).toContain(key); // every child narrows the parent
    // a child's own series
    const child = children.first();
    const childKey = (await child.getAttribute("data-slice"))!;
    await child.click();
    await page.waitForURL(/slice=/);
    await detail.locator("canvas").first().waitFor();
    expect(await detail.getByRole("heading", { level: 2 }).textContent()).toContain(crumbs(childKey).find((c) => !crumbs(key).includes(c))!);
    drillUrl = page.url();
    await shot(page, "incident-drilldown-child");
    // the cube goes two dimensions deep: below that the drill-down says there is nothing finer
    await page.getByRole("button", { name: "Drill into its children" }).click();
    await page.getByRole("note").filter({ hasText: "No finer slices" }).waitFor();
  });

  test("shows ranked causes with their evidence: DiD chart, SHAP shift, timing, refutations", async () => {
    await page.getByRole("tab", { name: /Causes/ }).click();
    await page.waitForURL(/tab=causes/);
    const cause = page.getByTestId("cause").first();
    await cause.waitFor();
    expect(await cause.getByRole("button").first().getAttribute("aria-expanded")).toBe("true");
    await cause.getByTestId("evidence-did").getByText(/95% CI/).first().waitFor();
    // treated vs control series loaded and drawn (not the loading state)
    await cause.locator('[data-testid="did-chart"] canvas').waitFor({ timeout: 30_000 });
    await cause.locator('[data-testid="shap-chart"] canvas').waitFor();
    await cause.locator('[data-testid="timing-chart"] canvas').waitFor();
    const refutations = cause.locator('[data-testid^="evidence-placebo"]');
    expect(await refutations.count()).toBeGreaterThan(0);
    await refutations.first().locator('[data-testid="placebo-chart"] canvas').waitFor();
    expect(await cause.getByText("Loading treated and control series…").count()).toBe(0);
    expect(await cause.getByText("supports", { exact: true }).count()).toBeGreaterThan(2);
    expect(await page.getByTestId("cause").count()).toBeGreaterThan(0);
    await shot(page, "incident-causes");
  });

  test("finds the incident's own recommendations with intervals", async () => {
    await page.getByRole("tab", { name: /Recommendations/ }).click();
    await page.waitForURL(/tab=actions/);
    const rec = page.getByTestId("recommendation");
    await rec.or(page.getByTestId("next-steps")).or(page.getByTestId("no-recommendations")).first().waitFor();
    expect(await rec.count(), "the top incident of the batching demo has recommendations of its own").toBeGreaterThan(0);
    recPath = new URL(page.url()).pathname;
    expect(recPath).toBe(topPath);
    expect(await rec.first().textContent()).toMatch(/Expected [^:]*: [+−][\d.,]+( [a-z]+)? 95% CI \[/);
    expect(await rec.first().getByLabel("Tradeoffs").textContent()).toMatch(/\[.+, .+\]/);
  });

  test("runs the what-if of a recommendation against the engine", async () => {
    const form = page.getByRole("form", { name: "What-if" });
    expect(await form.getByLabel("Driver").inputValue()).not.toBe("");
    expect(await form.getByLabel("Value").inputValue()).not.toBe("");
    await form.getByRole("button", { name: "Run what-if" }).click();
    const result = page.getByTestId("whatif-result");
    await result.waitFor({ timeout: 120_000 }); // the engine fits its model: ~20 s on 2 busy cores
    expect(await result.textContent()).toMatch(/95% CI \[/);
    await shot(page, "incident-recommendations");
  });

  test("shows the experiment plan and downloads its PDF", async () => {
    await page.getByRole("tab", { name: "Experiment plan" }).click();
    await page.waitForURL(/tab=plan/);
    const plan = page.getByTestId("plan");
    await plan.getByText("Hypothesis", { exact: true }).waitFor();
    expect(await plan.getByRole("definition").count()).toBeGreaterThan(3);
    await plan.getByRole("heading", { name: "Guardrails" }).waitFor();
    await shot(page, "incident-plan");
    const [download] = await Promise.all([page.waitForEvent("download"), plan.getByRole("button", { name: "Download PDF" }).click()]);
    expect(download.suggestedFilename()).toBe(`incident-${idOf(recPath)}-plan.pdf`);
    const bytes = readFileSync((await download.path())!);
    expect(bytes.subarray(0, 5).toString()).toBe("%PDF-");
    expect(bytes.length).toBeGreaterThan(2000);
  });

  test("proposes a recommendation and approves it", async () => {
    await page.getByRole("tab", { name: /Recommendations/ }).click();
    const rec = page.getByTestId("recommendation").first();
    await rec.getByTestId("approval-state").waitFor();
    // the detection job proposes new incidents' recommendations itself; propose by hand when it did not
    const propose = rec.getByRole("button", { name: /^Propose .* for approval$/ });
    if (await propose.count()) await propose.click();
    await rec.getByText("Proposed").waitFor();
    const title = (await rec.locator("strong").first().textContent())!;
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Approvals" }).click();
    await page.getByRole("table", { name: "Actions" }).waitFor();
    await shot(page, "approvals");
    await page.getByRole("button", { name: new RegExp(`^Approve action \\d+: ${escape(title)}$`) }).first().click();
    await page.getByRole("button", { name: "Approved" }).click();
    await page.getByRole("table", { name: "Actions" }).getByText(ENGINEER_NAME).first().waitFor();
    const approved = await apiFetch(page, `/api/actions?status=approved`, { token: ENGINEER });
    const rows = (approved.json as { data: { title: string; decided_by: string }[] }).data;
    expect(rows.find((a) => a.title === title)?.decided_by).toBe(ENGINEER_NAME);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).click();
    await page.getByRole("table", { name: "Audit trail" }).getByText("action.approve").first().waitFor();
    await shot(page, "audit");
  });

  test("a shared link opens the same view: tab, drill level and slice come from the URL", async () => {
    const other = await browser().newPage(); // a new tab: no token in its sessionStorage
    await other.goto(drillUrl);
    await other.waitForURL(/\/signin/);
    await other.getByLabel("API token").fill(ENGINEER);
    await other.getByRole("button", { name: "Sign in" }).click();
    await other.waitForURL((u) => u.toString() === drillUrl);
    const params = new URL(drillUrl).searchParams;
    await other.getByTestId("slice-detail").locator("canvas").first().waitFor();
    const path = await other.getByRole("navigation", { name: "Drill-down path" }).textContent();
    for (const c of crumbs(params.get("parent")!)) expect(path).toContain(c);
    expect(await other.getByRole("tab", { name: "Drill-down" }).getAttribute("aria-selected")).toBe("true");
    await other.goto(`${BASE}/incidents?status=open&metric=cx_score`);
    await other.getByRole("table", { name: "Incidents" }).waitFor();
    expect(await other.getByLabel("Status", { exact: true }).inputValue()).toBe("open");
    expect(await other.getByLabel("Metric", { exact: true }).inputValue()).toBe("cx_score");
    const metrics = await other.getByRole("table", { name: "Incidents" }).locator("tbody tr td:nth-child(3)").allTextContents();
    expect(metrics.length).toBeGreaterThan(0);
    // the metric cell is the incident's most affected symptom, then the other metrics its cause moved
    for (const m of metrics) expect(m.trim()).toMatch(/^CX score(also |$)/);
    await other.close();
  });

  test("gives feedback on an incident and changes its status inline", async () => {
    await page.goto(`${BASE}/incidents`);
    const table = page.getByRole("table", { name: "Incidents" });
    await table.waitFor();
    // after the shared-link step (which needs an open incident): one incident per cause leaves the
    // batching demo with few incidents, so any open one will do, the top one included
    const ids = await table.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => tr.querySelector("td")?.textContent?.trim() ?? ""));
    const id = ids.find((x) => x && x !== idOf(topPath)) ?? idOf(topPath);
    expect(id, "an open incident").toBeTruthy();
    await page.goto(`${BASE}/incidents/${id}`);
    const feedback = page.getByRole("form", { name: "Give feedback" });
    await feedback.getByRole("button", { name: "Confirmed" }).click();
    await feedback.getByLabel("Comment").fill("e2e: the batching change, as the evidence says");
    await feedback.getByRole("button", { name: "Send feedback" }).click();
    await feedback.getByRole("status").filter({ hasText: "Thanks — recorded." }).waitFor();
    await page.getByText("e2e: the batching change, as the evidence says").waitFor();
    // confirming an open incident acknowledges it
    await expect.poll(() => page.getByRole("combobox", { name: `Status of incident ${id}` }).inputValue()).toBe("acknowledged");
    await page.goto(`${BASE}/incidents`);
    const status = page.getByRole("combobox", { name: `Status of incident ${id}` });
    // un-acknowledge it inline (the later steps read open incidents)
    await status.selectOption("open");
    await expect.poll(() => status.inputValue()).toBe("open");
    const stored = await apiFetch(page, `/api/incidents/${id}`, { token: ENGINEER });
    expect(stored.json).toMatchObject({ status: "open", feedback: [{ label: "confirmed", actor: ENGINEER_NAME }] });
  });

  test("loading, empty and error states", async () => {
    // loading: the incident's request held back for a moment
    const id = idOf(recPath);
    const detail = new RegExp(`/api/incidents/${id}$`);
    await page.route(detail, async (route) => {
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue();
    });
    await page.goto(`${BASE}${recPath}`);
    await page.getByRole("status").filter({ hasText: "Loading incident…" }).waitFor();
    await page.getByRole("heading", { name: "Regression" }).waitFor();
    await page.unroute(detail);
    // empty: filters that match nothing
    await page.goto(`${BASE}/incidents?since=2099-01-01`);
    await page.getByRole("note").filter({ hasText: "No incidents match these filters" }).waitFor();
    // error: a failing API offers a retry, which recovers
    let fail = true;
    await page.route(/\/api\/incidents\?/, (route) => (fail ? route.fulfill({ status: 500, contentType: "application/json", body: '{"detail":"boom"}' }) : route.continue()));
    await page.goto(`${BASE}/incidents?status=open`);
    const alert = page.getByRole("alert");
    await alert.getByText("boom").waitFor();
    fail = false;
    await alert.getByRole("button", { name: "Retry" }).click();
    await page.getByRole("table", { name: "Incidents" }).waitFor();
    await page.unroute(/\/api\/incidents\?/);
    // not found: an incident that does not exist
    await page.goto(`${BASE}/incidents/999999`);
    await page.getByRole("alert").getByText("Not found").first().waitFor();
  });

  test("fits a 1280 px and a laptop screen, and names every control", async () => {
    const pages = ["/overview", "/incidents", `${topPath}?tab=drill`, `${recPath}?tab=causes`, `${recPath}?tab=actions`, `${recPath}?tab=plan`, "/summary", "/approvals", "/audit"];
    const ready = async () => {
      await page.getByRole("navigation", { name: "Main" }).waitFor();
      await expect.poll(() => page.getByRole("status").count(), { timeout: 30_000 }).toBe(0); // nothing loading
    };
    for (const size of [{ width: 1280, height: 800 }, { width: 1366, height: 768 }, { width: 1024, height: 768 }]) {
      await page.setViewportSize(size);
      for (const path of pages) {
        await page.goto(`${BASE}${path}`);
        await ready();
        expect(await sidewaysOverflow(page), `${path} at ${size.width} px scrolls sideways`).toBeLessThanOrEqual(0);
        if (size.width === 1280) {
          const { checked, nameless } = await namelessControls(page);
          expect(checked, `${path}: controls in the accessibility tree`).toBeGreaterThan(5);
          expect(nameless, `${path}: controls without a name`).toEqual([]);
        }
      }
    }
    await page.setViewportSize({ width: 1280, height: 860 });
  });
});

describe("pm", () => {
  let page: Page;
  beforeAll(async () => {
    page = await browser().newPage(); // its own sessionStorage: a separate sign-in
  });

  test("lands on the plain-language summary and reads the recommendation with its tradeoffs", async () => {
    await signIn(page, PM);
    await page.waitForURL(/\/summary/);
    const summary = page.getByTestId("pm-summary");
    await summary.waitFor();
    await page.getByRole("heading", { name: "What we recommend" }).waitFor();
    await summary.getByRole("heading", { name: "In short" }).waitFor();
    expect(await summary.textContent()).not.toContain("No action recommended");
    const table = summary.getByRole("table", { name: "Expected effect on every metric" });
    expect(await table.getByRole("row").count()).toBeGreaterThan(2);
    await summary.getByRole("button", { name: "Download PDF" }).waitFor();
    await shot(page, "summary");
  });

  test("sees no write controls", async () => {
    await page.goto(`${BASE}${recPath}?tab=actions`);
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

  test("gets 403 from the API on every write, 200 on reads, and 401 without a token", async () => {
    const id = idOf(recPath);
    const writes: [string, string, unknown][] = [
      ["PATCH", `/api/incidents/${id}`, { status: "resolved" }],
      ["POST", `/api/incidents/${id}/feedback`, { label: "confirmed", comment: "" }],
      ["POST", `/api/incidents/${id}/actions`, { recommendation: 0 }],
      ["POST", `/api/actions/1/approve`, { comment: "" }],
      ["POST", `/api/actions/1/reject`, { comment: "" }],
    ];
    for (const [method, path, body] of writes) {
      expect((await apiFetch(page, path, { method, token: PM, body })).status, `${method} ${path}`).toBe(403);
    }
    expect((await apiFetch(page, `/api/incidents/${id}`, { token: PM })).status).toBe(200);
    expect((await apiFetch(page, `/api/incidents/${id}/plan/pdf`, { token: PM })).type).toContain("application/pdf");
    expect((await apiFetch(page, `/api/incidents`, { token: null })).status).toBe(401);
  });
});
