/**
 * The inventory capability as the hub assembles it: the push (every worker tick while the
 * store's inventory push is enabled), the scheduled drift check, Shopify's level events through
 * the inbox, and the push's routes. Listed once in src/runtime/hub.ts.
 */
import type { AppContext } from "../core/context.ts";
import { storeTopicsInInbox } from "../orders/webhooks.ts";
import type { Capability } from "../runtime/capability.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import { runDriftCheck } from "./push/drift.ts";
import { type PushDeps, runPushCycle } from "./push/reconciler.ts";
import { pushRoutes } from "./push/routes.ts";
import { LEVEL_SUBSCRIPTIONS, LEVEL_TOPICS, processLevelInbox } from "./push/shopify-level-events.ts";

/** How long one push pass goes on cycling while there is work. */
const PUSH_PASS_MS = 2000;

export function inventoryCapability(
  ctx: AppContext,
  options: {
    /** How often each store's drift check runs (0: never); the first runs at once after a start. */
    readonly driftIntervalMs: number;
  },
): Capability {
  // The guarded transport's fence carries the store lease's generation into every write that
  // records what Shopify accepted.
  const deps = (transport: AdminTransport): PushDeps => ({
    db: ctx.database.db,
    now: () => ctx.clock.now(),
    logger: ctx.logger,
    windowMs: ctx.config.coalesceWindowMs,
    ...(transport.fence ? { fence: transport.fence } : {}),
  });
  return {
    name: "inventory",
    webhookTopics: LEVEL_SUBSCRIPTIONS,
    registerWebhooks: (handlers) => storeTopicsInInbox(ctx, handlers, LEVEL_TOPICS),
    routes: ({ jobs }) => pushRoutes(ctx, { jobs }),
    jobs: [
      {
        name: "inventory:level-inbox",
        everyMs: 1000,
        // Claimed deliveries: every process drains them.
        everyProcess: true,
        run: async () => void (await processLevelInbox(ctx)),
      },
    ],
    storePasses: [
      // First of all the store's passes: when it fails, the others wait for its retry.
      {
        name: "inventory:push",
        flow: "inventory_push",
        everyMs: 0,
        run: async (store, transport) => {
          // Cycles follow one another while they push, so a busy store does not wait for the
          // worker's next tick between them (marks keep arriving while a cycle runs); bounded,
          // so the store's other passes get their turn.
          const until = ctx.clock.now() + PUSH_PASS_MS;
          for (;;) {
            const result = await runPushCycle(deps(transport), store, transport);
            if (result.calls > 0)
              ctx.logger.debug({ store: store.domain, ...result }, "inventory push cycle");
            if (result.pushed === 0 || ctx.clock.now() >= until) return;
          }
        },
      },
      ...(options.driftIntervalMs > 0
        ? [
            {
              name: "inventory:drift-check",
              flow: "inventory_push",
              everyMs: options.driftIntervalMs,
              run: async (store: Parameters<typeof runDriftCheck>[1], transport: AdminTransport) =>
                void (await runDriftCheck(deps(transport), store, transport, "schedule")),
            },
          ]
        : []),
    ],
  };
}
