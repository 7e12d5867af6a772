// End-to-end tests: e2e/*.spec.ts in node, driving Debian Chromium with playwright-core against a real
// backend that e2e/run.sh starts. One file at a time: the browser and the server share 2 cores.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "node",
    include: ["e2e/**/*.spec.ts"],
    testTimeout: 150_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    pool: "forks",
  },
});
