/**
 * Price groups (issue 16, seed 004) as the hub assembles them: the back office's routes and the
 * store pass that publishes each group as a Shopify price list, under the store's lease with the
 * catalog publish (a paused publish holds prices too). Listed once in src/runtime/hub.ts.
 */
import type { AppContext } from "../core/context.ts";
import type { Capability } from "../runtime/capability.ts";
import { runPriceListCycle } from "./reconciler.ts";
import { priceRoutes } from "./routes.ts";

export { runPriceListCycle } from "./reconciler.ts";

export function pricesCapability(ctx: AppContext): Capability {
  return {
    name: "prices",
    webhookTopics: [],
    registerWebhooks: () => {},
    routes: () => priceRoutes(ctx),
    jobs: [],
    storePasses: [
      {
        name: "prices:price-lists",
        flow: "catalog_publish",
        everyMs: 2000,
        run: async (store, transport) => {
          const r = await runPriceListCycle(
            { db: ctx.database.db, now: () => ctx.clock.now(), logger: ctx.logger },
            store,
            transport,
          );
          if (r.calls > 0) ctx.logger.debug({ store: store.domain, ...r }, "price lists cycle");
        },
      },
    ],
  };
}
