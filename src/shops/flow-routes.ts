/** The console's per-store flow views: each flow's status, backlog and lag now, and over time. */
import { z } from "zod";
import type { AppContext } from "../core/context.ts";
import { line } from "../core/input.ts";
import { route } from "../core/route.ts";
import { storeFlowStatus } from "./flow-status.ts";
import { readSeries, SERIES_RANGES, type SeriesRange } from "./series.ts";
import { FLOWS, requireStore } from "./stores.ts";

const domainParams = z.object({ domain: line(255).pipe(z.string().min(1)) });

export const flowStatusSchema = z.object({
  flow: z.enum(FLOWS as [string, ...string[]]),
  state: z.enum(["disabled", "enabled", "paused"]),
  status: z
    .enum(["running", "paused", "failing", "disconnected", "disabled"])
    .meta({ description: "disconnected wins over everything; disabled: never enabled or switched off" }),
  reason: z.string().nullable(),
  backlog: z.number().int().meta({ description: "Items waiting for this flow" }),
  lagSeconds: z
    .number()
    .int()
    .nullable()
    .meta({ description: "Age of the oldest waiting item; null exactly when the backlog is 0" }),
  lastSuccessAt: z.number().nullable().meta({ description: "Epoch ms of the last successful work" }),
});

export const seriesSchema = z.object({
  range: z.enum(["hour", "day"]),
  stepSeconds: z.number().int(),
  points: z.array(
    z.object({
      at: z.number().meta({ description: "End of the step, epoch ms" }),
      lagSeconds: z.number().int().nullable(),
      backlog: z.number().int(),
      pushed: z.number().int(),
      ordersImported: z.number().int(),
    }),
  ),
});

export function flowViewRoutes(ctx: AppContext) {
  const { database } = ctx;
  return [
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/flows",
      tag: "shops",
      auth: "store.read",
      summary:
        "Every flow of the store now: status (running, paused, failing with the reason, disconnected, disabled), the items waiting, the age of the oldest and the last success.",
      params: domainParams,
      response: z.object({ items: z.array(flowStatusSchema) }),
      async handler({ params }) {
        const store = await requireStore(database, params.domain);
        return { items: await storeFlowStatus(database.db, store, ctx.clock.now()) };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/series",
      tag: "shops",
      auth: "store.read",
      summary: `The store's inventory push lag and backlog, quantities pushed and orders imported over the last hour (${SERIES_RANGES.hour.stepSeconds} s steps) or day (${SERIES_RANGES.day.stepSeconds} s steps), sampled every ${SERIES_RANGES.hour.stepSeconds} s.`,
      params: domainParams,
      query: z.object({ range: z.enum(["hour", "day"]).default("hour") }),
      response: seriesSchema,
      async handler({ params, query }) {
        const store = await requireStore(database, params.domain);
        return readSeries(database.db, store.id, query.range as SeriesRange, ctx.clock.now());
      },
    }),
  ];
}
