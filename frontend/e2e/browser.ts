// What every e2e/*.spec.ts shares: the server and state e2e/run.sh made, and Debian Chromium driven by
// playwright-core (no browser download), a fresh profile per launch.
//
// e2e/run.sh makes the demo with scripts/demo-data.sh (the recipe of `make demo`, at 200k orders), serves
// it, and runs every spec file, one at a time, against that one server and state, with (import these
// rather than reading process.env):
//   BASE           E2E_BASE_URL: the server (the UI at /, the API under /api)
//   ENGINEER, PM   E2E_ENGINEER_TOKEN, E2E_PM_TOKEN: an engineer's and a (read-only) PM's token
//   ENGINEER_NAME, PM_NAME   E2E_ENGINEER_NAME, E2E_PM_NAME: their names, as the API reports who acted
//   DEMO_DIR       E2E_DEMO_DIR: the demo folder (scripts/demo-data.sh lists what it holds: workspace.yaml and
//                  truth.json, analysis/, billing/, reconciliation/, signals/ with truth.json)
//   DATA_DIR       E2E_DATA_DIR: the server's data folder (DEMO_DIR/service)
//   SHOTS          E2E_SCREENSHOTS: where `shot` writes (documents/screenshots/)
// Specs share that state: change only what the spec creates or picks for itself, never rely on another
// spec's changes.
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, expect } from "vitest";

export const BASE = process.env.E2E_BASE_URL ?? "http://127.0.0.1:8000";
export const ENGINEER = process.env.E2E_ENGINEER_TOKEN ?? "";
export const PM = process.env.E2E_PM_TOKEN ?? "";
export const ENGINEER_NAME = process.env.E2E_ENGINEER_NAME ?? "demo-engineer";
export const PM_NAME = process.env.E2E_PM_NAME ?? "demo-pm";
export const DEMO_DIR = process.env.E2E_DEMO_DIR ?? join(process.cwd(), "..", "demo");
export const DATA_DIR = process.env.E2E_DATA_DIR ?? join(DEMO_DIR, "service");
export const SHOTS = process.env.E2E_SCREENSHOTS ?? join(process.cwd(), "..", "documents", "screenshots");

export async function launch(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "cxw-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 860 },
    deviceScaleFactor: 1,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * The browser of a spec file: before its tests, checks that run.sh gave the tokens and launches Chromium;
 * after them, closes it. Call once at the top of the file; the returned function gives the context.
 */
export function browserForSpec(): () => BrowserContext {
  let context: BrowserContext | undefined;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    expect(ENGINEER, "E2E_ENGINEER_TOKEN (run e2e/run.sh)").not.toBe("");
    expect(PM, "E2E_PM_TOKEN (run e2e/run.sh)").not.toBe("");
    ({ context, close } = await launch());
  });
  afterAll(async () => {
    await close?.();
  });
  return () => {
    if (!context) throw new Error("the browser is not launched yet (use it inside a test or a beforeAll)");
    return context;
  };
}

export async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${BASE}/`);
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

export async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const size = page.viewportSize() ?? { width: 1280, height: 860 };
  if (fullPage) {
    // grow the viewport to the page (rather than a full-page capture) so the fixed sidebar spans it
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.setViewportSize({ width: size.width, height: Math.max(size.height, Math.min(height, 4000)) });
  }
  await page.waitForTimeout(500); // charts resize and repaint
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  if (fullPage) await page.setViewportSize(size);
}

/** A fetch from inside the page, with or without a token; returns the status, content type and JSON body. */
export async function apiFetch(page: Page, path: string, init: { method?: string; token?: string | null; body?: unknown } = {}) {
  return page.evaluate(
    async ({ path, init }) => {
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (init.token) headers.Authorization = `Bearer ${init.token}`;
      const res = await fetch(path, { method: init.method ?? "GET", headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
      const type = res.headers.get("content-type") ?? "";
      const json: unknown = type.includes("json") ? await res.json() : null;
      return { status: res.status, type, json };
    },
    { path, init },
  );
}

// Roles a user operates or reads as a picture: each needs an accessible name.
const NAMED_ROLES = new Set(["button", "link", "textbox", "combobox", "listbox", "checkbox", "radio", "tab", "searchbox", "spinbutton", "slider", "switch", "menuitem", "img", "image", "table"]);

/** Controls, charts, tables and landmarks on the page without an accessible name (Chromium's own accessibility tree). */
export async function namelessControls(page: Page): Promise<{ checked: number; nameless: string[] }> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send("Accessibility.enable");
    const { nodes } = (await cdp.send("Accessibility.getFullAXTree")) as {
      nodes: { ignored?: boolean; role?: { value?: string }; name?: { value?: string }; backendDOMNodeId?: number }[];
    };
    const out: string[] = [];
    let checked = 0;
    for (const n of nodes) {
      const role = String(n.role?.value ?? "");
      if (n.ignored || !NAMED_ROLES.has(role)) continue;
      checked += 1;
      if (String(n.name?.value ?? "").trim()) continue;
      let html = "";
      if (n.backendDOMNodeId) {
        const { outerHTML } = (await cdp.send("DOM.getOuterHTML", { backendNodeId: n.backendDOMNodeId })) as { outerHTML: string };
        html = outerHTML.slice(0, 120);
      }
      out.push(`${role}: ${html}`);
    }
    return { checked, nameless: out };
  } finally {
    await cdp.detach();
  }
}

/** How far the page scrolls sideways (0 when it fits the window). */
export async function sidewaysOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}
