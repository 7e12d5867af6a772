import "@testing-library/jest-dom/vitest";
import { createElement } from "react";
import { afterEach, vi } from "vitest";
import { cleanup } from "@testing-library/react";

// jsdom has no canvas: charts render as labelled placeholders carrying their option, so tests can
// assert what a chart would draw without drawing it.
vi.mock("../components/charts/EChart", async (importOriginal) => {
  const mod = await importOriginal<typeof import("../components/charts/EChart")>();
  return {
    ...mod,
    EChart: ({ label, testId, option }: { label: string; testId?: string; option: unknown }) =>
      createElement("div", { role: "img", "aria-label": label, "data-testid": testId, "data-option": JSON.stringify(option) }),
  };
});

afterEach(() => {
  cleanup();
  sessionStorage.clear();
  vi.unstubAllGlobals();
});
