/**
 * Failures in one place (see failures.ts): the list with counts per kind, dismissing one with a
 * reason (audited), and the resolving calls no other capability offered yet (replaying a dead
 * webhook delivery, retrying an item-location Shopify refused).
 */
import { z } from "zod";
import { recordAudit } from "../auth/audit.ts";
import { actorLabel } from "../auth/principal.ts";
import type { AppContext } from "../core/context.ts";
import { decodeCursor, encodeCursor, pageQuery } from "../core/cursor.ts";
import { AppError } from "../core/errors.ts";
import { line } from "../core/input.ts";
import { route } from "../core/route.ts";
import { markStoreDirtyFor } from "../inventory/push/push-store.ts";
import { replayInbox } from "../orders/inbox.ts";
import { logActivity } from "../shops/activity.ts";
import {
  countFailures,
  FAILURE_KINDS,
  type FailureKind,
  failureExists,
  listFailures,
  type StoreRef,
} from "./failures.ts";

const kindSchema = z.enum(FAILURE_KINDS);

const actionSchema = z.object({
  label: z.string(),
  method: z.literal("POST"),
  url: z.string(),
  body: z.record(z.string(), z.unknown()).optional(),
});

export const failureItemSchema = z.object({
  kind: kindSchema,
  id: z.string(),
  store: z.string().nullable(),
  summary: z.string(),
  reason: z.string().nullable(),
  since: z.number().nullable(),
  action: actionSchema.nullable().meta({ description: "The API call that resolves it" }),
});

const countsSchema = z.object(
  Object.fromEntries(FAILURE_KINDS.map((k) => [k, z.number().int()])) as Record<FailureKind, z.ZodNumber>,
);

async function storeRef(ctx: AppContext, domain: string | undefined): Promise<StoreRef | undefined> {
  if (!domain) return undefined;
  const s = await ctx.database.db
    .selectFrom("stores")
    .select(["id", "domain"])
    .where("domain", "=", domain.toLowerCase())
    .executeTakeFirst();
  if (!s) throw new AppError("UNKNOWN_STORE", `no store ${domain} is connected to the hub`);
  return { id: Number(s.id), domain: s.domain };
}

const dismissInput = z.object({
  kind: kindSchema,
  id: line(600).pipe(z.string().min(1)),
  reason: line(500).pipe(z.string().trim().min(1, "say why it is dismissed")),
});

export function failureRoutes(ctx: AppContext) {
  const db = ctx.database.db;
  return [
    route({
      method: "GET",
      url: "/api/v1/failures",
      tag: "failures",
      auth: "store.read",
      summary:
        "Every failure in one place (dead webhook deliveries, undelivered outbound notifications, parked orders, item-locations Shopify refused, link problems, failed jobs), each with the API call that resolves it, and the count of each kind (dismissed ones are neither listed nor counted). Page with `cursor=nextCursor`.",
      query: z.object({
        store: line(255).optional(),
        kind: kindSchema.optional(),
        ...pageQuery,
      }),
      response: z.object({
        items: z.array(failureItemSchema),
        counts: countsSchema,
        nextCursor: z.string().nullable(),
      }),
      async handler({ query }) {
        const store = await storeRef(ctx, query.store);
        let after: { kind: FailureKind; key: string } | undefined;
        if (query.cursor) {
          const [kind, key] = decodeCursor(query.cursor, ["string", "string"]) as [string, string];
          const k = kindSchema.safeParse(kind);
          if (!k.success) decodeCursor("", ["string"]);
          after = { kind: k.data as FailureKind, key };
        }
        const page = await listFailures(db, { store, kind: query.kind, after, limit: query.limit });
        return {
          items: page.items,
          counts: await countFailures(db, store),
          nextCursor: page.next ? encodeCursor([page.next.kind, page.next.key]) : null,
        };
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/failures/dismiss",
      tag: "failures",
      auth: "store.operate",
      summary:
        "Hides one failure with a reason: it is no longer listed or counted. Who dismissed it, when and why is kept in the audit trail.",
      body: dismissInput,
      async handler({ body, principal }) {
        const found = await failureExists(db, body.kind, body.id);
        if (!found)
          throw new AppError("NOT_FOUND", `no ${body.kind} ${body.id} (it may be resolved already)`);
        const now = ctx.clock.now();
        const actor = actorLabel(principal);
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto("failure_dismissals")
            .values({
              kind: body.kind,
              item_id: body.id,
              store_id: found.storeId,
              reason: body.reason,
              actor,
              dismissed_at: now,
            })
            .onConflict((oc) =>
              oc.columns(["kind", "item_id"]).doUpdateSet({ reason: body.reason, actor, dismissed_at: now }),
            )
            .execute();
          await recordAudit(
            trx,
            {
              principal,
              storeId: found.storeId,
              action: "failure.dismiss",
              target: `${body.kind}:${body.id}`,
              before: null,
              after: { kind: body.kind, id: body.id, reason: body.reason },
            },
            now,
          );
        });
        return { kind: body.kind, id: body.id, dismissed: true, reason: body.reason, by: actor, at: now };
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/failures/retry",
      tag: "failures",
      auth: "store.operate",
      summary:
        "Retries an item-location Shopify refused at the next push, without waiting for its backoff (kind failing_item; other kinds have their own call, named in the failure's action).",
      body: z.object({ kind: z.literal("failing_item"), id: line(600) }),
      async handler({ body, principal }) {
        const m = /^(\d+):(\d+):(.+)$/.exec(body.id);
        const found = m ? await failureExists(db, "failing_item", body.id) : null;
        if (!m || !found) throw new AppError("NOT_FOUND", `no failing item ${body.id}`);
        const [storeId, variantId, locationGid] = [Number(m[1]), Number(m[2]), m[3]!];
        const now = ctx.clock.now();
        await db.transaction().execute(async (trx) => {
          await trx
            .updateTable("inventory_sync")
            .set({ retry_at: null })
            .where("store_id", "=", storeId)
            .where("variant_id", "=", variantId)
            .where("location_gid", "=", locationGid)
            .execute();
          await markStoreDirtyFor(trx, storeId, [variantId], now);
          await logActivity(
            trx,
            {
              storeId,
              flow: "inventory_push",
              kind: "retry_requested",
              message: `Retry of a refused item requested by ${actorLabel(principal)}`,
              data: { variantId, location: locationGid },
            },
            now,
          );
        });
        return { kind: body.kind, id: body.id, retrying: true };
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/inbox/:id/replay",
      tag: "failures",
      auth: "store.operate",
      summary: "Puts a dead (or failed) webhook delivery back in the inbox to be applied again.",
      params: z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) }),
      async handler({ params }) {
        if (!(await replayInbox(ctx, params.id)))
          throw new AppError("NOT_FOUND", `no dead or failed webhook delivery ${params.id}`);
        return { id: params.id, status: "pending" };
      },
    }),
  ];
}
