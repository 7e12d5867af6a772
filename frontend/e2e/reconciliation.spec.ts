// Reconciliation end to end, against the real backend (started by e2e/run.sh): an engineer uploads a
// legacy/migrated pair with a known answer, follows the background run to its findings (counts, the
// systematic pattern with its slice, the interactive chart by reason code), downloads the PDF report and
// an export, runs again after the mapping fix compared with the first run (resolved, persisting, history),
// and gets one line naming the file and column for a bad key. A PM reads runs and findings but cannot
// start one. Independent of the other spec: it brings its own data, and works whether or not the server
// already holds runs (e.g. `make demo`'s imported one).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { BASE, ENGINEER, PM, apiFetch, launch, namelessControls, shot, sidewaysOverflow, signIn } from "./browser";
import { billingPair } from "./billingPair";

const pair = billingPair();
const t = pair.truth;
const SYSTEMATIC = "product: GAS_STD → GAS_FIX";
let context: BrowserContext;
let close: () => Promise<void>;
let files = "";
let firstPath = ""; // the first run's page

beforeAll(async () => {
  expect(ENGINEER, "E2E_ENGINEER_TOKEN (run e2e/run.sh)").not.toBe("");
  expect(PM, "E2E_PM_TOKEN (run e2e/run.sh)").not.toBe("");
  files = mkdtempSync(join(tmpdir(), "cxw-recon-e2e-"));
  writeFileSync(join(files, "legacy.csv"), pair.legacy);
  writeFileSync(join(files, "migrated.csv"), pair.migrated);
  writeFileSync(join(files, "migrated-fixed.csv"), pair.fixed);
  ({ context, close } = await launch());
});

afterAll(async () => {
  await close?.();
  if (files) rmSync(files, { recursive: true, force: true });
});

async function startRun(page: Page, migrated: string, options: { key: string; name: string; previous?: string }) {
  await page.goto(`${BASE}/reconciliations`);
  const form = page.getByRole("form", { name: "Start a reconciliation" });
  await form.waitFor();
  await form.getByLabel("Legacy records (CSV, CSV.gz or Parquet)").setInputFiles(join(files, "legacy.csv"));
  await form.getByLabel("Migrated records").setInputFiles(join(files, migrated));
  await form.getByLabel("Key column(s)").fill(options.key);
  await form.getByLabel("Name (optional)").fill(options.name);
  if (options.previous) await form.getByLabel("Compare with run").selectOption(options.previous);
  await form.getByRole("button", { name: "Start reconciliation" }).click();
}

/** The run page once its findings are shown (the run goes on in the background; the page polls). */
async function findings(page: Page) {
  await page.waitForURL(/\/reconciliations\/\d+$/);
  await page.getByRole("region", { name: "Summary" }).waitFor({ timeout: 120_000 });
  return new URL(page.url()).pathname;
}

describe("engineer", () => {
  let page: Page;
  beforeAll(async () => {
    page = await context.newPage();
    await signIn(page, ENGINEER);
  });

  test("uploads a pair and follows the background run to its findings", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Reconciliations" }).click();
    await page.getByRole("heading", { name: "Reconciliations" }).waitFor();
    await startRun(page, "migrated.csv", { key: "account_id", name: "e2e billing" });
    firstPath = await findings(page);
    const summary = page.getByRole("region", { name: "Summary" });
    expect(await summary.getByRole("group", { name: "Lost records" }).textContent()).toContain(`${t.lost}`);
    expect(await summary.getByRole("group", { name: "Unexpected records" }).textContent()).toContain(`${t.unexpected}`);
    expect(await summary.getByRole("group", { name: "Mismatched records" }).textContent()).toContain(`${t.differing}`);
    expect(await summary.getByRole("group", { name: "Impacted customers" }).textContent()).toContain(`${t.customers}`);

    const rows = page.getByRole("table", { name: "Mismatch patterns" }).getByTestId("recon-pattern");
    expect(await rows.count()).toBe(4);
    const systematic = rows.filter({ hasText: SYSTEMATIC });
    expect(await systematic.textContent()).toContain("systematic");
    expect(await systematic.textContent()).toContain(`${t.systematic} of ${t.systematic} records with region=north&tariff=T3 (100.0%)`);
    expect(await systematic.textContent()).toContain("mapping rule");

    await page.locator('[data-testid="reason-chart"] canvas').first().waitFor();
    await page.getByRole("group", { name: "Select a reason code" }).getByRole("button", { name: /^record lost/ }).click();
    await page.waitForURL(/reason=record\+lost/);
    expect(await page.getByTestId("selected-reason").textContent()).toContain(`record lost: ${t.lost} mismatches in ${t.lost} records`);
    expect(await rows.filter({ hasText: "record lost" }).getAttribute("aria-current")).toBe("true");
    await page.getByRole("group", { name: "Measure" }).getByRole("button", { name: "Customers" }).click();
    await page.waitForURL(/measure=customers/);
    await shot(page, "reconciliation");
  });

  test("downloads the PDF report and the impacted customers", async () => {
    await page.goto(`${BASE}${firstPath}`);
    const id = firstPath.split("/").pop();
    const [pdf] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Report (PDF)" }).click()]);
    expect(pdf.suggestedFilename()).toBe(`reconciliation-${id}-report.pdf`);
    expect(readFileSync((await pdf.path())!).subarray(0, 4).toString()).toBe("%PDF");
    const exports = page.getByRole("table", { name: "Exports" });
    const [csv] = await Promise.all([page.waitForEvent("download"),
      exports.getByRole("button", { name: "Download impacted_customers.csv" }).click()]);
    const lines = readFileSync((await csv.path())!, "utf-8").trim().split("\n");
    expect(lines.length - 1).toBe(t.customers);
  });

  test("runs again after the mapping fix, compared with the first run: resolved, persisting, history", async () => {
    const firstId = firstPath.split("/").pop()!;
    await startRun(page, "migrated-fixed.csv", { key: "account_id", name: "e2e billing, fixed", previous: firstId });
    await findings(page);
    const compared = page.getByRole("table", { name: "Runs compared" });
    expect(await compared.getByTestId("compared-pattern").filter({ hasText: SYSTEMATIC }).textContent()).toContain("resolved");
    expect(await compared.getByTestId("compared-pattern").filter({ hasText: "record lost" }).textContent()).toContain("persisting");
    const history = page.getByRole("list", { name: "Run history" });
    expect(await history.getByRole("listitem").count()).toBeGreaterThanOrEqual(2);
    await shot(page, "reconciliation-compared");
    await history.getByRole("link", { name: `run #${firstId}` }).click();
    await page.waitForURL(new RegExp(`/reconciliations/${firstId}$`));
  });

  test("a key the files lack is refused with one line naming the file and column", async () => {
    await startRun(page, "migrated.csv", { key: "acct", name: "bad key" });
    const alert = page.getByRole("form", { name: "Start a reconciliation" }).getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toContain("legacy.csv: key column 'acct' not found");
    expect(new URL(page.url()).pathname).toBe("/reconciliations");
  });

  test("fits a 1280 px and a laptop screen, and names every control", async () => {
    for (const size of [{ width: 1280, height: 800 }, { width: 1024, height: 768 }]) {
      await page.setViewportSize(size);
      for (const path of ["/reconciliations", firstPath]) {
        await page.goto(`${BASE}${path}`);
        await page.getByRole("navigation", { name: "Main" }).waitFor();
        await page.getByRole("table").first().waitFor();
        await expect.poll(() => page.getByRole("status").count(), { timeout: 30_000 }).toBe(0);
        expect(await sidewaysOverflow(page), `${path} at ${size.width} px scrolls sideways`).toBeLessThanOrEqual(0);
        if (size.width === 1280) {
          const { checked, nameless } = await namelessControls(page);
          expect(checked).toBeGreaterThan(5);
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
    page = await context.newPage(); // its own sessionStorage: a separate sign-in
    await signIn(page, PM);
  });

  test("reads the runs and a run's findings, but cannot start one", async () => {
    await page.goto(`${BASE}/reconciliations`);
    await page.getByRole("table", { name: "Reconciliation runs" }).waitFor();
    expect(await page.getByRole("form", { name: "Start a reconciliation" }).count()).toBe(0);
    await page.goto(`${BASE}${firstPath}`);
    await page.getByRole("region", { name: "Summary" }).waitFor();
    const denied = await apiFetch(page, "/api/reconciliations", { method: "POST", token: PM,
      body: { legacy_path: "/x.csv", migrated_path: "/y.csv", key: ["account_id"] } });
    expect(denied.status).toBe(403);
  });
});
