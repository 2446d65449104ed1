/**
 * Builds the operator console (console/src, Preact + TypeScript) into dist/console, served by
 * src/console/plugin.ts at /console/. Run by `npm run build:console` and by `postinstall`.
 */
import { fileURLToPath } from "node:url";
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here("."),
  base: "/console/",
  plugins: [preact({ prerender: { enabled: false } })],
  build: {
    outDir: here("../dist/console"),
    emptyOutDir: true,
    target: "es2022",
    // Scripts only from 'self' (the hub's CSP): no inline module-preload helper.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 200,
  },
  logLevel: "warn",
});
