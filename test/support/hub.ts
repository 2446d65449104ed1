/** Starts a whole hub in-process on a test database, plus an API key to call it with. */
import { createApiKey } from "../../src/auth/api-keys.ts";
import { loadConfig } from "../../src/config/config.ts";
import { type Clock, systemClock } from "../../src/core/clock.ts";
import { createLogger } from "../../src/core/logger.ts";
import { type Hub, startHub } from "../../src/runtime/hub.ts";
import { createTestDatabase, type TestDialect } from "./databases.ts";

export interface TestHub extends Hub {
  readonly apiKey: string;
  /** Headers for the back-office API. */
  readonly auth: { authorization: string };
  close(): Promise<void>;
}

export async function startTestHub(
  dialect: TestDialect,
  options: { env?: Record<string, string>; clock?: Clock; listen?: boolean } = {},
): Promise<TestHub> {
  const db = await createTestDatabase(dialect);
  const config = loadConfig({
    DATABASE_URL: db.target.kind === "sqlite" ? db.target.path : db.target.url,
    DEMO: "off",
    WORKER: "off",
    PORT: "0",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
    TEST_ONLY_PLAIN_HTTP_OUTBOUND: "on",
    ...options.env,
  });
  const clock = options.clock ?? systemClock;
  const hub = await startHub(config, {
    clock,
    logger: createLogger(config.logLevel),
    listen: options.listen ?? false,
  });
  const { key } = await createApiKey(hub.ctx.database, "test", clock.now(), ["admin"]);
  return {
    ctx: hub.ctx,
    server: hub.server,
    worker: hub.worker,
    url: hub.url,
    stop: () => hub.stop(),
    apiKey: key,
    auth: { authorization: `Bearer ${key}` },
    async close() {
      await hub.stop();
      await db.drop();
    },
  };
}
