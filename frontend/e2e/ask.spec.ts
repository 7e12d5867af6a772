// The Ask page end to end, against the real backend on the demo data that e2e/run.sh generates and serves:
// a PM asks a question in plain language, sees the number with the question as interpreted, the
// assumptions and the SQL that ran (values bound as parameters, never in the SQL text), asks a follow-up
// that keeps the context, and gets "I can't answer that" with clickable suggestions for a question
// outside what is supported. The page fits the window and every control has an accessible name.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { BASE, PM, apiFetch, launch, namelessControls, shot, sidewaysOverflow, signIn } from "./browser";

let context: BrowserContext;
let close: () => Promise<void>;

beforeAll(async () => {
  expect(PM, "E2E_PM_TOKEN (run e2e/run.sh)").not.toBe("");
  ({ context, close } = await launch());
});

afterAll(async () => {
  await close?.();
});

describe("ask", () => {
  let page: Page;
  beforeAll(async () => {
    page = await context.newPage();
    await signIn(page, PM);
  });

  const ask = async (question: string) => {
    const input = page.getByRole("textbox", { name: "Question", exact: true });
    await input.fill(question);
    await page.getByRole("button", { name: "Ask", exact: true }).click();
  };

  test("a PM asks, and sees the number, the interpreted intent, the assumptions and the SQL", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Ask" }).click();
    await page.getByRole("heading", { name: "Ask" }).waitFor();
    const question = "How many orders were late in region west yesterday?";
    await ask(question);
    const text = page.getByTestId("answer-text");
    await text.waitFor();
    const workspaces = await apiFetch(page, "/api/workspaces", { token: PM });
    const wsId = (workspaces.json as { data: { id: number }[] }).data[0].id;
    const api = await apiFetch(page, "/api/ask", { method: "POST", token: PM, body: { workspace_id: wsId, question } });
    expect(api.status).toBe(200);
    const answer = api.json as { text: string; rows: { value: number }[]; query: string; parameters: string[] };
    expect(await text.textContent()).toBe(answer.text);
    expect(answer.rows[0].value).toBeGreaterThan(0);
    expect(await page.getByTestId("answer-intent").textContent()).toContain("for region = west");
    const sql = (await page.getByTestId("answer-sql").textContent())!;
    expect(sql).toContain("WITH base AS");
    expect(sql).not.toContain("west");
    expect(answer.parameters).toContain("west");
    await page.getByText(/'today' is \d{4}-\d{2}-\d{2}, the day of the last record/).waitFor();
    expect(await sidewaysOverflow(page)).toBeLessThanOrEqual(0);
    await shot(page, "ask");
  });

  test("a follow-up keeps the context", async () => {
    await ask("and the week before?");
    await page.getByTestId("answer-text").filter({ hasText: "the week before" }).waitFor();
    expect(await page.getByTestId("answer-intent").textContent()).toContain("for region = west");
  });

  test("a question outside what is supported is refused with suggestions and no number", async () => {
    await page.getByRole("button", { name: "New topic" }).click();
    await ask("What will the weather be tomorrow?");
    await page.getByTestId("answer-text").filter({ hasText: "I can't answer that" }).waitFor();
    expect(await page.getByRole("table", { name: "Numbers" }).count()).toBe(0);
    const suggestions = page.getByRole("listitem").getByRole("button");
    expect(await suggestions.count()).toBe(3);
    await suggestions.first().click();
    await page.getByRole("table", { name: "Numbers" }).waitFor();
    const { nameless } = await namelessControls(page);
    expect(nameless).toEqual([]);
  });
});
