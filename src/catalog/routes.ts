import { z } from "zod";
import type { AppContext } from "../core/context.ts";
import { route } from "../core/route.ts";
import { upsertVariants, variantBatchInput } from "./variants-store.ts";

export function catalogRoutes(ctx: AppContext) {
  return [
    route({
      method: "PUT",
      url: "/api/v1/variants",
      tag: "catalog",
      auth: "stock.write",
      summary: "Create or update variants by SKU (barcode, title, up to three option values).",
      body: variantBatchInput,
      response: z.object({ created: z.number().int(), updated: z.number().int() }),
      handler: ({ body }) => upsertVariants(ctx.database, body.variants, ctx.clock.now()),
    }),
  ];
}
