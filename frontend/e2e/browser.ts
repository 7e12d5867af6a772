// Debian Chromium driven by playwright-core (no browser download): a fresh profile per run.
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const BASE = process.env.E2E_BASE_URL ?? "http://127.0.0.1:8000";
export const ENGINEER = process.env.E2E_ENGINEER_TOKEN ?? "";
export const PM = process.env.E2E_PM_TOKEN ?? "";
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

/** A fetch from inside the page, with or without a token; returns the status and content type. */
export async function apiFetch(page: Page, path: string, init: { method?: string; token?: string | null; body?: unknown } = {}) {
  return page.evaluate(
    async ({ path, init }) => {
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (init.token) headers.Authorization = `Bearer ${init.token}`;
      const res = await fetch(path, { method: init.method ?? "GET", headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
      return { status: res.status, type: res.headers.get("content-type") ?? "" };
    },
    { path, init },
  );
}
