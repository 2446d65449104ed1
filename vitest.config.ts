import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "emulator/**/*.test.ts", "test/**/*.test.ts"],
    // Two cores: more forks only fight over them (and over the one PostgreSQL server).
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // TEST ONLY: the emulator accepts plain http:// webhook addresses on loopback (Shopify takes
    // HTTPS only); the tests receive deliveries on local plain-HTTP servers.
    env: { EMULATOR_TEST_ONLY_ALLOW_PLAIN_HTTP_WEBHOOKS: "1" },
  },
});
