// The operational-signals pages end to end, on the simulated platform migration that `make demo` loads and
// analyses (scripts/demo-data.sh: `cxw signals simulate`, `signals load`, `signals job`; served by
// e2e/run.sh). An engineer reads the raised patterns (sparkline, spike, merchants, stage association,
// likely cause: the simulation's truth.json says which patterns, causes and merchants to expect), opens a
// pattern (stage rates, ranked causes with their evidence, proposed actions, sample signals), approves a
// proposal in the approval queue, dry-runs it and finds both in its audit trail. A PM reads the same pages
// and the queue with no decision controls, and the API answers 403 to the PM's decisions.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import type { Page } from "playwright-core";
import { BASE, DEMO_DIR, ENGINEER, ENGINEER_NAME, PM, apiFetch, browserForSpec, namelessControls, shot, sidewaysOverflow, signIn } from "./browser";

interface TruthPattern {
  pattern: string;
  cause: string;
  merchants: string[];
}

let patternPath = ""; // the pattern page the engineer opened
let decided = 0; // the proposal the engineer approved and dry-ran

const truth = () => JSON.parse(readFileSync(join(DEMO_DIR, "signals", "truth.json"), "utf8")) as { patterns: TruthPattern[] };
/** "Callback URL change 80%" → "callback url change" (the cause id with spaces). */
const causeWords = (text: string) => text.replace(/\s*[\d.]+%\s*$/, "").trim().toLowerCase();
const leadingNumber = (text: string) => Number(/^\s*([\d,]+)/.exec(text)?.[1].replace(/,/g, "") ?? NaN);
const sorted = <T>(xs: T[]) => [...xs].sort();

const browser = browserForSpec();

describe("engineer", () => {
  let page: Page;
  beforeAll(async () => {
    page = await browser().newPage();
    await signIn(page, ENGINEER);
  });

  test("sees the raised patterns with sparkline, spike, merchants, stage association and likely cause", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Signals" }).click();
    await page.waitForURL(/\/signals$/);
    await page.getByRole("heading", { name: "Signals", level: 1 }).waitFor();
    const table = page.getByRole("table", { name: "Signal patterns" });
    await table.waitFor();
    const rows = table.getByTestId("pattern-row");
    const latest = (await apiFetch(page, "/api/signals/analysis/latest", { token: ENGINEER })).json as { report: { raised: number } };
    expect(await rows.count()).toBe(latest.report.raised);
    // every injected pattern is one raised row: its merchants and its cause as the simulation injected them
    const injected = truth().patterns;
    const cells = await rows.evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll("td")).map((td) => td.textContent ?? "")));
    expect(sorted(cells.map((c) => leadingNumber(c[4])))).toEqual(sorted(injected.map((p) => p.merchants.length)));
    expect(sorted(cells.map((c) => causeWords(c[6])))).toEqual(sorted(injected.map((p) => p.cause.replace(/_/g, " "))));
    for (const c of cells) {
      expect(c[2]).toMatch(/^raised q [<=] /); // the spike and its q-value
      expect(c[5]).not.toMatch(/no migration data/);
    }
    expect(await table.getByRole("img", { name: /^Signals per hour of / }).count()).toBe(cells.length);
    // all patterns on demand, through the URL
    await page.getByRole("group", { name: "Which patterns" }).getByRole("button", { name: /^All \(\d+\)$/ }).click();
    await page.waitForURL(/show=all/);
    await expect.poll(() => rows.count()).toBeGreaterThan(cells.length);
    await page.getByRole("group", { name: "Which patterns" }).getByRole("button", { name: /^Raised/ }).click();
    await expect.poll(() => rows.count()).toBe(cells.length);
    await shot(page, "signals");
  });

  test("opens a pattern: stage rates, ranked causes with evidence, proposed actions, sample signals", async () => {
    // the raised pattern with the most merchants
    await page.goto(`${BASE}/signals`);
    const rows = page.getByRole("table", { name: "Signal patterns" }).getByTestId("pattern-row");
    await rows.first().waitFor();
    const merchants = await rows.evaluateAll((trs) => trs.map((tr) => Number(/\d+/.exec(tr.querySelectorAll("td")[4]?.textContent ?? "")?.[0] ?? 0)));
    const link = rows.nth(merchants.indexOf(Math.max(...merchants))).getByRole("link");
    const label = (await link.textContent())!.trim();
    await link.click();
    await page.waitForURL(/\/signals\/patterns\/[0-9a-f]+$/);
    patternPath = new URL(page.url()).pathname;
    expect((await page.getByRole("heading", { level: 1 }).textContent())!.trim()).toBe(label);
    await page.getByRole("img", { name: `Signals per hour of ${label}` }).waitFor();
    const stage = page.getByRole("table", { name: "Migration stage association" });
    expect(await stage.locator("tbody tr").count()).toBeGreaterThan(1); // not yet migrated, then each stage
    expect(await stage.locator("tbody").textContent()).toMatch(/×[\d.]+/);
    const causes = page.getByRole("list", { name: "Likely causes" }).getByTestId("cause");
    expect(await causes.count()).toBeGreaterThan(0);
    expect(await causes.first().locator("ul li").count()).toBeGreaterThan(0); // its evidence, with likelihood ratios
    expect(await causes.first().locator("ul").textContent()).toMatch(/\(×[\d.]+\)/);
    const proposals = page.getByRole("table", { name: "Proposed actions" }).getByTestId("proposal-row");
    expect(await proposals.count()).toBeGreaterThan(0);
    const samples = page.getByRole("list", { name: "Sample signals" }).getByRole("listitem");
    expect(await samples.count()).toBeGreaterThan(0);
    await shot(page, "signal-pattern");
  });

  test("approves a proposal in the queue, dry-runs it and finds both in its audit trail", async () => {
    await page.getByRole("link", { name: "← Signals" }).click();
    await page.getByRole("link", { name: "Approval queue" }).click();
    await page.waitForURL(/\/signals\/approvals/);
    const table = page.getByRole("table", { name: "Signal proposals" });
    await table.waitFor();
    const waiting = (await apiFetch(page, "/api/signals/proposals?status=proposed", { token: ENGINEER })).json as {
      count: number;
      data: { id: number; leaves_system: boolean }[];
    };
    expect(await table.getByTestId("proposal-row").count()).toBe(waiting.count);
    await shot(page, "signal-approvals");
    // one that leaves the system (an escalation, a webhook): the demo configures no outside URL
    // (CXW_SIGNAL_TOOL_URLS), and a dry run needs none — it shows what would be sent and to which tool
    decided = waiting.data.find((p) => p.leaves_system)?.id ?? 0;
    expect(decided, "a waiting proposal that leaves the system").toBeGreaterThan(0);
    const approve = table.getByRole("button", { name: new RegExp(`^Approve proposal ${decided}: `) });
    await table.getByLabel(`Reason for proposal ${decided}`).fill("e2e: the evidence points at the migration");
    await approve.click();
    // it leaves the waiting list and shows under Approved, decided by the engineer
    await expect.poll(() => table.getByRole("button", { name: new RegExp(`^Approve proposal ${decided}:`) }).count()).toBe(0);
    await page.getByRole("group", { name: "Filter by status" }).getByRole("button", { name: "Approved" }).click();
    await page.waitForURL(/status=approved/);
    const row = table.getByTestId("proposal-row").filter({ has: page.getByRole("button", { name: `Dry run proposal ${decided}` }) });
    await row.waitFor();
    expect(await row.textContent()).toContain(ENGINEER_NAME);
    await row.getByRole("button", { name: `Dry run proposal ${decided}` }).click();
    await row.getByText("dry run", { exact: true }).waitFor();
    await row.getByText(/^would send to (escalation|webhook_post) \(no URL configured\)$/).waitFor();
    await row.getByRole("button", { name: "Audit trail" }).click();
    const trail = page.getByRole("list", { name: `Audit trail of proposal ${decided}` });
    await trail.getByText("dry_run", { exact: true }).waitFor();
    const steps = await trail.getByRole("listitem").allTextContents();
    expect(steps.some((s) => s.includes("propose by"))).toBe(true);
    expect(steps.some((s) => s.includes(`approve by ${ENGINEER_NAME}`) && s.includes("the evidence points at the migration"))).toBe(true);
    expect(steps.some((s) => s.includes(`dry_run by ${ENGINEER_NAME}`))).toBe(true);
    await shot(page, "signal-audit");
    // the API agrees: approved (a dry run does not execute it), by the engineer, with the dry run's result
    const approved = (await apiFetch(page, "/api/signals/proposals?status=approved", { token: ENGINEER })).json as {
      data: { id: number; decided_by: string; result: { dry_run?: boolean; url?: string | null } | null }[];
    };
    expect(approved.data.find((p) => p.id === decided)).toMatchObject({ decided_by: ENGINEER_NAME, result: { dry_run: true, url: null } });
    const audit = (await apiFetch(page, `/api/audit?entity_type=signal_proposal&entity_id=${decided}`, { token: ENGINEER })).json as {
      data: { action: string; actor: string }[];
    };
    expect(sorted(audit.data.map((e) => e.action))).toEqual(["signal_proposal.approve", "signal_proposal.dry_run", "signal_proposal.propose"]);
  });

  test("the signal pages fit a 1280 px screen and name every control", async () => {
    for (const path of ["/signals", patternPath, "/signals/approvals?status=all"]) {
      await page.goto(`${BASE}${path}`);
      await page.getByRole("navigation", { name: "Main" }).waitFor();
      await expect.poll(() => page.getByRole("status").count(), { timeout: 30_000 }).toBe(0);
      await page.getByRole("table").first().waitFor();
      expect(await sidewaysOverflow(page), `${path} scrolls sideways`).toBeLessThanOrEqual(0);
      const { checked, nameless } = await namelessControls(page);
      expect(checked, `${path}: controls in the accessibility tree`).toBeGreaterThan(5);
      expect(nameless, `${path}: controls without a name`).toEqual([]);
    }
  });
});

describe("pm", () => {
  let page: Page;
  beforeAll(async () => {
    page = await browser().newPage(); // its own sessionStorage: a separate sign-in
    await signIn(page, PM);
  });

  test("reads the patterns and a pattern, with no analysis or decision controls", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Signals" }).click();
    await page.getByRole("table", { name: "Signal patterns" }).waitFor();
    expect(await page.getByRole("button", { name: "Run analysis" }).count()).toBe(0);
    await page.goto(`${BASE}${patternPath}`);
    await page.getByRole("table", { name: "Proposed actions" }).waitFor();
    expect(await page.getByRole("button", { name: /^(Approve|Reject|Dry run|Run) proposal/ }).count()).toBe(0);
  });

  test("sees the approval queue read-only, and the API answers 403 to a PM's decisions", async () => {
    await page.goto(`${BASE}/signals/approvals`);
    const table = page.getByRole("table", { name: "Signal proposals" });
    await table.waitFor();
    await page.getByText("Read-only for your role.").waitFor();
    expect(await table.getByTestId("proposal-row").count()).toBeGreaterThan(0);
    expect(await table.getByText("waiting for an engineer").count()).toBe(await table.getByTestId("proposal-row").count());
    expect(await page.getByRole("button", { name: /^(Approve|Reject|Dry run|Run) proposal/ }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Audit trail" }).count()).toBe(0);
    await shot(page, "signal-approvals-pm");
    const waiting = (await apiFetch(page, "/api/signals/proposals?status=proposed", { token: PM })).json as { data: { id: number }[] };
    const id = waiting.data[0].id;
    const writes: [string, unknown][] = [
      [`/api/signals/proposals/${id}/approve`, { reason: "" }],
      [`/api/signals/proposals/${id}/reject`, { reason: "pm" }],
      [`/api/signals/proposals/${decided}/execute`, { dry_run: true }],
      ["/api/signals/analysis", { window_days: 7 }],
    ];
    for (const [path, body] of writes) {
      const r = await apiFetch(page, path, { method: "POST", token: PM, body });
      expect(r.status, `POST ${path}`).toBe(403);
    }
    const after = (await apiFetch(page, `/api/signals/proposals?status=proposed`, { token: PM })).json as { data: { id: number }[] };
    expect(after.data.map((p) => p.id)).toContain(id); // nothing decided
  });
});
