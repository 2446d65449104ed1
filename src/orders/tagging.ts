/**
 * After import the order is tagged in Shopify (`tagsAdd`, tag from the settings). The tag is an
 * outbox item written with the import and sent here through the store's throttled transport,
 * so a throttled or failed call is retried and never blocks intake.
 */
import type { AppContext } from "../core/context.ts";
import { coerceError } from "../core/errors.ts";
import { graphql } from "../shopify/graphql.ts";
import type { AdminTransport } from "../shopify/transport.ts";

export const TAGS_ADD_MUTATION = graphql`
  mutation TillbridgeOrderTagsAdd($id: ID!, $tags: [String!]!) {
    tagsAdd(id: $id, tags: $tags) {
      node {
        id
      }
      userErrors {
        field
        message
      }
    }
  }
`;

interface TagsAddResult {
  tagsAdd: { node: { id: string } | null; userErrors: { field: string[] | null; message: string }[] } | null;
}

export const TAG_MAX_ATTEMPTS = 8;

/** Sends up to `limit` due tag jobs of one store. Call it per store from the worker (every tick or few seconds). */
export async function processTagJobs(
  ctx: AppContext,
  transport: AdminTransport,
  storeId: number,
  limit = 50,
): Promise<{ done: number; failed: number }> {
  const db = ctx.database.db;
  const now = ctx.clock.now();
  const jobs = await db
    .selectFrom("order_tag_jobs")
    .select(["id", "shopify_order_gid", "tag", "attempts"])
    .where("store_id", "=", storeId)
    .where("status", "=", "pending")
    .where("next_attempt_at", "<=", now)
    .orderBy("id")
    .limit(limit)
    .execute();
  let done = 0;
  let failed = 0;
  for (const job of jobs) {
    try {
      const { data } = await transport.graphql<TagsAddResult>(
        TAGS_ADD_MUTATION,
        { id: job.shopify_order_gid, tags: [job.tag] },
        { estimatedCost: 10 },
      );
      const errors = data.tagsAdd?.userErrors ?? [];
      if (errors.length > 0) throw new Error(`tagsAdd: ${errors.map((e) => e.message).join("; ")}`);
      // Fenced: a former owner of the store (paused past its lease) cannot record it.
      await db.transaction().execute(async (trx) => {
        await transport.fence?.(trx);
        await trx
          .updateTable("order_tag_jobs")
          .set({ status: "done", attempts: job.attempts + 1, last_error: null })
          .where("id", "=", job.id)
          .execute();
      });
      done++;
    } catch (thrown) {
      // The store moved to another worker: the job stays as it is for the new owner.
      if ((thrown as { code?: string }).code === "LEASE_LOST") throw thrown;
      failed++;
      const attempts = job.attempts + 1;
      await db.transaction().execute(async (trx) => {
        await transport.fence?.(trx);
        await trx
          .updateTable("order_tag_jobs")
          .set({
            status: attempts >= TAG_MAX_ATTEMPTS ? "dead" : "pending",
            attempts,
            next_attempt_at: now + Math.min(3_600_000, 10_000 * 2 ** (attempts - 1)),
            last_error: coerceError(thrown).message.slice(0, 500),
          })
          .where("id", "=", job.id)
          .execute();
      });
    }
  }
  return { done, failed };
}
