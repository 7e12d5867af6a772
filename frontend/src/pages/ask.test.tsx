import { describe, expect, test } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { installFakeApi } from "../test/fakeApi";
import { renderApp } from "../test/render";
import answers from "../test/ask-answers.json";
import { formatAnswerValue } from "./AskPage";
import type { Answer } from "../api/types";

// Answers exactly as `cxw ask --json` (the API's response) wrote them for the generated demo data.
const ranking = answers.ranking as Answer;
const compare = answers.compare as Answer;
const followUp = answers.follow_up as Answer;
const refusal = answers.refusal as Answer;

describe("ask", () => {
  test("a question shows the answer, the interpreted intent, the assumptions and the SQL with its parameters", async () => {
    const { calls } = installFakeApi({ "POST /api/ask": () => ranking });
    renderApp("/ask", "pm-token");
    expect(await screen.findByRole("link", { name: /Ask/ })).toHaveAttribute("href", "/ask");
    await userEvent.type(await screen.findByLabelText("Question"), ranking.question);
    await userEvent.click(screen.getByRole("button", { name: "Ask" }));
    expect(await screen.findByTestId("answer-text")).toHaveTextContent("north: 3.4%");
    expect(screen.getByTestId("answer-intent")).toHaveTextContent(ranking.interpretation!);
    expect(screen.getByTestId("answer-sql")).toHaveTextContent("WITH base AS");
    expect(screen.getByText(/Parameters: 2026-03-16 00:00:00/)).toBeInTheDocument();
    const table = screen.getByRole("table", { name: "Numbers" });
    expect(within(table).getAllByRole("row")[1]).toHaveTextContent("north3.4%");
    expect(screen.getByText(/weeks run Monday to Sunday/)).toBeInTheDocument();
    expect(calls.find((c) => c.path === "/api/ask")?.body).toEqual({ workspace_id: 1, question: ranking.question, context: null });
  });

  test("a follow-up sends the previous answer's intent; a comparison shows both periods and the change", async () => {
    let n = 0;
    const { calls } = installFakeApi({ "POST /api/ask": () => (n++ === 0 ? compare : followUp) });
    renderApp("/ask");
    await userEvent.type(await screen.findByLabelText("Question"), compare.question);
    await userEvent.click(screen.getByRole("button", { name: "Ask" }));
    const row = within(await screen.findByRole("table", { name: "Numbers" })).getAllByRole("row")[1];
    expect(row).toHaveTextContent("90.4%");
    expect(row).toHaveTextContent("85.5%");
    expect(row).toHaveTextContent("4.8%");
    const input = screen.getByLabelText("Question");
    await userEvent.clear(input);
    await userEvent.type(input, "and region west?");
    await userEvent.click(screen.getByRole("button", { name: "Ask" }));
    await waitFor(() => expect(screen.getByTestId("answer-text")).toHaveTextContent("91.8%"));
    const sent = calls.filter((c) => c.path === "/api/ask").map((c) => c.body as { context: unknown });
    expect(sent[1].context).toEqual(compare.intent);
  });

  test("a refusal shows no number and offers the closest questions, which can be asked with one click", async () => {
    let n = 0;
    const { calls } = installFakeApi({ "POST /api/ask": () => (n++ === 0 ? refusal : ranking) });
    renderApp("/ask");
    await userEvent.type(await screen.findByLabelText("Question"), "what is the weather");
    await userEvent.click(screen.getByRole("button", { name: "Ask" }));
    expect(await screen.findByTestId("answer-text")).toHaveTextContent("I can't answer that");
    expect(screen.queryByRole("table", { name: "Numbers" })).toBeNull();
    expect(screen.queryByTestId("answer-sql")).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: refusal.suggestions[0] }));
    await waitFor(() => expect(calls.filter((c) => c.path === "/api/ask")[1]?.body).toMatchObject({ question: refusal.suggestions[0] }));
  });

  test("values are shown as the answer's unit says", () => {
    expect(formatAnswerValue(0.0342, { unit: "share", intent: ranking.intent })).toBe("3.4%");
    expect(formatAnswerValue(1234, { unit: null, intent: { ...ranking.intent!, measure: { ...ranking.intent!.measure, kind: "count" } } })).toBe("1,234");
    expect(formatAnswerValue(null, { unit: null, intent: null })).toBe("—");
  });
});
