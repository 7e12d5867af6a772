/// <reference types="vitest/config" />
// Vite builds the SPA into dist/, which the FastAPI backend serves at "/". `npm run dev` proxies /api to
// a running `cxw serve` (CXW_API, default http://127.0.0.1:8000) for local work only.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        manualChunks: { echarts: ["echarts"], vendor: ["react", "react-dom", "react-router"] },
      },
    },
  },
  server: { proxy: { "/api": process.env.CXW_API ?? "http://127.0.0.1:8000" } },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    pool: "threads",
    poolOptions: { threads: { maxThreads: 2, minThreads: 1 } },
  },
});
