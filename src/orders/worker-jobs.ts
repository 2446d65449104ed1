/**
 * What the worker loop runs for orders. Hub-wide jobs need no Shopify budget; the per-store
 * pass spends the store's budget and so runs under the store's lease, like the inventory push.
 */
import type { AppContext } from "../core/context.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import { type BackfillResult, backfillOrders } from "./backfill.ts";
import { processInbox } from "./inbox.ts";
import { deliverOutbound } from "./outbound.ts";
import { applyRetention, forgetOverwritten } from "./personal-data.ts";
import { processTagJobs } from "./tagging.ts";

export const ORDER_JOB_INTERVALS = {
  inboxMs: 500,
  outboundMs: 2_000,
  retentionMs: 24 * 3600_000,
  /** Per store: pending Shopify tags. */
  tagsMs: 1_000,
  /** Per store: parked orders tried again. */
  parkedMs: 30_000,
  /** Per store: how often the polling backfill runs (a lost webhook is caught within this). */
  backfillMs: 3 * 60_000,
} as const;

/** Hub-wide periodic jobs, in the shape `Worker.addJob` takes. */
export function orderJobs(ctx: AppContext) {
  return [
    {
      name: "orders:inbox",
      everyMs: ORDER_JOB_INTERVALS.inboxMs,
      run: async () => {
        await processInbox(ctx, 500);
        // After a redaction committed: no old value left in SQLite's WAL (personal-data.ts).
        await forgetOverwritten(ctx);
      },
    },
    {
      name: "orders:outbound",
      everyMs: ORDER_JOB_INTERVALS.outboundMs,
      // Each notification is claimed by one process: every process may deliver.
      everyProcess: true,
      run: async () => void (await deliverOutbound(ctx)),
    },
    {
      name: "orders:retention",
      everyMs: ORDER_JOB_INTERVALS.retentionMs,
      run: async (now: number) => void (await applyRetention(ctx, now)),
    },
  ];
}

/**
 * One store's order work under its lease: pending Shopify tags every pass, the backfill when
 * `backfill` is true (the worker decides, every `ORDER_JOB_INTERVALS.backfillMs` per store).
 */
export async function orderStorePass(
  ctx: AppContext,
  transport: AdminTransport,
  storeId: number,
  options: { backfill: boolean },
): Promise<{ tagged: number; backfill: BackfillResult | null }> {
  const tags = await processTagJobs(ctx, transport, storeId);
  const backfill = options.backfill ? await backfillOrders(ctx, transport, storeId) : null;
  return { tagged: tags.done, backfill };
}
