import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "emulator/**/*.test.ts", "test/**/*.test.ts"],
    // Two cores: more forks only fight over them (and over the one PostgreSQL server).
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
