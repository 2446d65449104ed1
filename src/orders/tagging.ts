/**
 * After import the order is tagged in Shopify (`tagsAdd`, tag from the settings). The tag is an
 * outbox item written with the import and sent here through the store's throttled transport,
 * so a throttled or failed call is retried and never blocks intake.
 */
import type { AppContext } from "../core/context.ts";
import { coerceError } from "../core/errors.ts";
import { RETRY } from "../jobs/backoff.ts";
import { claimDue, type QueueSpec, releaseClaim, settleDone, settleFailed } from "../jobs/queue.ts";
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

/** The tag queue on the hub's durable-work core (src/jobs/queue.ts). */
export const TAG_QUEUE: QueueSpec<"order_tag_jobs"> = {
  table: "order_tag_jobs",
  policy: RETRY.tags,
  waiting: ["pending"],
  retry: "pending",
  done: "done",
  dead: "dead",
  replayable: ["dead"],
  claims: true,
  visibilityMs: 60_000,
};

export const TAG_MAX_ATTEMPTS = TAG_QUEUE.policy.maxAttempts;

/**
 * Sends up to `limit` due tag jobs of one store, under the store's lease (call it per store from
 * the worker). The jobs are claimed first, so a second pass (or process) never sends them too;
 * their outcomes are recorded fenced by the lease: a former owner (paused past its lease)
 * cannot mark a tag done or failed, and gives its claims back for the new owner.
 */
export async function processTagJobs(
  ctx: AppContext,
  transport: AdminTransport,
  storeId: number,
  limit = 50,
): Promise<{ done: number; failed: number }> {
  const db = ctx.database.db;
  const now = ctx.clock.now();
  const claim = await claimDue(ctx.database, TAG_QUEUE, {
    owner: `tags:${storeId}:${process.pid}`,
    now,
    limit,
    where: (eb) => eb("q.store_id", "=", storeId),
  });
  let done = 0;
  let failed = 0;
  const settled = new Set<number>();
  try {
    for (const job of claim.items) {
      try {
        const { data } = await transport.graphql<TagsAddResult>(
          TAGS_ADD_MUTATION,
          { id: job.shopify_order_gid, tags: [job.tag] },
          { estimatedCost: 10 },
        );
        const errors = data.tagsAdd?.userErrors ?? [];
        if (errors.length > 0) throw new Error(`tagsAdd: ${errors.map((e) => e.message).join("; ")}`);
        await db.transaction().execute(async (trx) => {
          await transport.fence?.(trx);
          await settleDone(trx, TAG_QUEUE, job, claim.token);
        });
        settled.add(job.id);
        done++;
      } catch (thrown) {
        // The store moved to another worker: the job is the new owner's to send.
        if ((thrown as { code?: string }).code === "LEASE_LOST") throw thrown;
        failed++;
        await db.transaction().execute(async (trx) => {
          await transport.fence?.(trx);
          await settleFailed(trx, TAG_QUEUE, job, claim.token, coerceError(thrown).message, ctx.clock.now());
        });
        settled.add(job.id);
      }
    }
  } finally {
    // Claims not settled (the lease was lost, the hub is stopping) are given back at once.
    const left = claim.items.filter((j) => !settled.has(j.id)).map((j) => j.id);
    await releaseClaim(db, TAG_QUEUE, left, claim.token, ctx.clock.now()).catch(() => {});
  }
  return { done, failed };
}
