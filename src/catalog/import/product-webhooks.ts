/**
 * Staying current after an import: `products/create`, `products/update` and `products/delete`
 * are stored in the webhook inbox (deduplicated, answered at once) and applied from it:
 * - a variant whose SKU changed in Shopify is re-linked to the hub variant of its new SKU when
 *   there is exactly one and it is not linked in this store; otherwise it is unlinked and listed
 *   as a link problem (`sku_changed_in_shopify`);
 * - a new Shopify variant is linked by SKU, then barcode, when that is unambiguous;
 * - a variant gone from its product, or a deleted product, unlinks its hub variants and lists them
 *   as `deleted_in_shopify`: nothing more is pushed for them, and the push and the order intake of
 *   every other item go on as before;
 * - the product link's last-seen state follows. A delivery older than the product's deletion is
 *   ignored (Shopify does not order deliveries).
 * The import and the drift reconciliation catch deliveries that never arrived.
 */
import type { Transaction } from "kysely";
import { z } from "zod";
import type { AppContext } from "../../core/context.ts";
import type { LinkProblemKind, Tables } from "../../db/tables.ts";
import { markStoreDirtyFor } from "../../inventory/push/push-store.ts";
import { drainInbox, type InboxRunResult, markInboxDone, storeDelivery } from "../../orders/inbox.ts";
import { storeTopicsInInbox } from "../../orders/webhooks.ts";
import { logActivity } from "../../shops/activity.ts";
import type { WebhookHandlers } from "../../shops/webhooks.ts";
import type { MatchedBy } from "../matching.ts";

export const CATALOG_TOPICS = [
  "products/create",
  "products/update",
  "products/delete",
  "inventory_items/update",
] as const;
/** The subscriptions a connected store gets for them (see src/shops/webhook-subscriptions.ts). */
export const CATALOG_WEBHOOK_SUBSCRIPTIONS: readonly string[] = [
  "PRODUCTS_CREATE",
  "PRODUCTS_UPDATE",
  "PRODUCTS_DELETE",
  "INVENTORY_ITEMS_UPDATE",
];

type Trx = Transaction<Tables>;

const id = z.union([z.number().int(), z.string().regex(/^\d+$/)]).transform(String);
const productBody = z.object({
  id,
  admin_graphql_api_id: z.string().optional(),
  updated_at: z.string().optional(),
  title: z.string().optional(),
  handle: z.string().optional(),
  status: z.string().optional(),
  variants: z
    .array(
      z.object({
        id,
        admin_graphql_api_id: z.string().optional(),
        sku: z.string().nullable().optional(),
        barcode: z.string().nullable().optional(),
        inventory_item_id: id,
      }),
    )
    .optional(),
});
export type ProductBody = z.infer<typeof productBody>;

/** inventory_items/update: a variant's SKU, tracking and cost live on its inventory item. */
const inventoryItemBody = z.object({
  id,
  admin_graphql_api_id: z.string().optional(),
  sku: z.string().nullable().optional(),
  tracked: z.boolean().nullable().optional(),
  cost: z.union([z.string(), z.number()]).nullable().optional(),
  updated_at: z.string().optional(),
});
export type InventoryItemBody = z.infer<typeof inventoryItemBody>;
type Body = { kind: "product"; value: ProductBody } | { kind: "item"; value: InventoryItemBody };

export function registerCatalogWebhookHandlers(ctx: AppContext, handlers: WebhookHandlers): void {
  storeTopicsInInbox(ctx, handlers, CATALOG_TOPICS);
}

/** Applies due product deliveries from the inbox (call it every second or so). */
export async function processCatalogInbox(ctx: AppContext, limit = 200): Promise<InboxRunResult> {
  return drainInbox(ctx, {
    topics: CATALOG_TOPICS,
    limit,
    async apply(row) {
      const item = row.topic === "inventory_items/update";
      const { storeId, value: body } = await storeDelivery<Body>(ctx, row, (b) => {
        if (item) {
          const i = inventoryItemBody.safeParse(b);
          return i.success
            ? { ok: true, value: { kind: "item", value: i.data } }
            : { ok: false, reason: `not an inventory item: ${i.error.message.slice(0, 200)}` };
        }
        const p = productBody.safeParse(b);
        return p.success
          ? { ok: true, value: { kind: "product", value: p.data } }
          : { ok: false, reason: `not a product: ${p.error.message.slice(0, 200)}` };
      });
      const now = ctx.clock.now();
      const changes = await ctx.database.db.transaction().execute(async (trx) => {
        const out =
          body.kind === "item"
            ? await applyInventoryItem(trx, storeId, body.value, now)
            : row.topic === "products/delete"
              ? await applyDelete(trx, storeId, body.value, now)
              : await applyProduct(trx, storeId, body.value, now);
        await markInboxDone(trx, row.id, now);
        return out;
      });
      const subject = body.kind === "item" ? itemGid(body.value) : productGid(body.value);
      if (changes.length > 0)
        await logActivity(
          ctx.database.db,
          {
            storeId,
            flow: "catalog_import",
            kind: row.topic === "products/delete" ? "product_deleted" : "product_changed",
            level: changes.some((c) => c.problem) ? "warn" : "info",
            message: `${row.topic} for ${subject}: ${changes.map((c) => c.message).join("; ")}`,
            data: { [item ? "inventoryItem" : "product"]: subject, changes: changes.length },
          },
          now,
        );
    },
  });
}

/**
 * A product read from Shopify by the scheduled check (src/catalog/import/catalog-check.ts),
 * applied exactly as its products/update delivery would have been.
 */
export async function applyProductAsWebhook(
  ctx: AppContext,
  storeId: number,
  body: ProductBody,
  now: number,
): Promise<number> {
  const changes = await ctx.database.db.transaction().execute((trx) => applyProduct(trx, storeId, body, now));
  if (changes.length > 0)
    await logActivity(
      ctx.database.db,
      {
        storeId,
        flow: "catalog_import",
        kind: "product_changed",
        level: changes.some((c) => c.problem) ? "warn" : "info",
        message: `catalog check (no products/update arrived) for ${productGid(body)}: ${changes.map((c) => c.message).join("; ")}`,
        data: { product: productGid(body), changes: changes.length, source: "catalog_check" },
      },
      now,
    );
  return changes.length;
}

/**
 * A linked product the scheduled check no longer finds in the store (its products/delete never
 * arrived), applied exactly as that delivery would have been.
 */
export async function applyProductDeleteAsWebhook(
  ctx: AppContext,
  storeId: number,
  gid: string,
  now: number,
): Promise<number> {
  const body: ProductBody = { id: gid.slice(gid.lastIndexOf("/") + 1), admin_graphql_api_id: gid };
  const changes = await ctx.database.db.transaction().execute((trx) => applyDelete(trx, storeId, body, now));
  await logActivity(
    ctx.database.db,
    {
      storeId,
      flow: "catalog_import",
      kind: "product_deleted",
      level: "warn",
      message: `catalog check (no products/delete arrived): ${gid} is no longer in Shopify${changes.length > 0 ? `: ${changes.map((c) => c.message).join("; ")}` : ""}`,
      data: { product: gid, changes: changes.length, source: "catalog_check" },
    },
    now,
  );
  return changes.length;
}

/** The hub product linked to a Shopify product in this store (its key names it to the operator). */
async function hubProductKey(
  trx: Trx,
  storeId: number,
  gid: string,
  variantId?: number,
): Promise<string | null> {
  const linked = await trx
    .selectFrom("product_links as pl")
    .innerJoin("products as p", "p.id", "pl.product_id")
    .select("p.key")
    .where("pl.store_id", "=", storeId)
    .where("pl.shopify_product_gid", "=", gid)
    .executeTakeFirst();
  if (linked) return linked.key;
  if (variantId === undefined) return null;
  const own = await trx
    .selectFrom("variants as v")
    .innerJoin("products as p", "p.id", "v.product_id")
    .select("p.key")
    .where("v.id", "=", variantId)
    .executeTakeFirst();
  return own?.key ?? null;
}

const productGid = (b: ProductBody) => b.admin_graphql_api_id ?? `gid://shopify/Product/${b.id}`;
const norm = (s: string | null | undefined) => {
  const t = s?.trim();
  return t ? t : null;
};

interface Change {
  readonly message: string;
  readonly problem: boolean;
}

interface LinkRow {
  variant_id: number;
  product_variant_gid: string;
  inventory_item_gid: string;
  sku: string;
  barcode: string | null;
  matched_by: MatchedBy;
  last_seen: string | null;
}

/** A link's last-seen state (SKU, barcode, and the inventory item's tracked and cost). */
const seenOf = (l: { last_seen: string | null }): Record<string, unknown> =>
  l.last_seen ? (JSON.parse(l.last_seen) as Record<string, unknown>) : {};

async function unlink(trx: Trx, storeId: number, link: LinkRow): Promise<void> {
  await trx
    .deleteFrom("variant_links")
    .where("store_id", "=", storeId)
    .where("variant_id", "=", link.variant_id)
    .execute();
  await trx
    .deleteFrom("inventory_sync")
    .where("store_id", "=", storeId)
    .where("inventory_item_gid", "=", link.inventory_item_gid)
    .execute();
}

async function problem(
  trx: Trx,
  storeId: number,
  p: { kind: LinkProblemKind; sku: string | null; barcode: string | null; gid: string; detail: string },
  now: number,
): Promise<void> {
  await trx
    .insertInto("link_problems")
    .values({
      store_id: storeId,
      kind: p.kind,
      sku: p.sku,
      barcode: p.barcode,
      product_variant_gid: p.gid,
      detail: p.detail,
      detected_at: now,
    })
    .execute();
}

async function linksOf(
  trx: Trx,
  storeId: number,
  productGid: string,
  variantGids: readonly string[],
): Promise<LinkRow[]> {
  let q = trx
    .selectFrom("variant_links as l")
    .innerJoin("variants as v", "v.id", "l.variant_id")
    .select([
      "l.variant_id",
      "l.product_variant_gid",
      "l.inventory_item_gid",
      "l.matched_by",
      "l.last_seen",
      "v.sku",
      "v.barcode",
    ])
    .where("l.store_id", "=", storeId);
  q =
    variantGids.length > 0
      ? q.where((eb) =>
          eb.or([
            eb("l.shopify_product_gid", "=", productGid),
            eb("l.product_variant_gid", "in", [...variantGids]),
          ]),
        )
      : q.where("l.shopify_product_gid", "=", productGid);
  return (await q.execute()).map((r) => ({ ...r, variant_id: Number(r.variant_id) }));
}

/** Whether the product was deleted after this delivery's state (an old delivery arriving late). */
async function deletedSince(
  trx: Trx,
  storeId: number,
  gid: string,
  updatedAt: string | undefined,
): Promise<boolean> {
  const link = await trx
    .selectFrom("product_links")
    .select(["last_seen"])
    .where("store_id", "=", storeId)
    .where("shopify_product_gid", "=", gid)
    .executeTakeFirst();
  if (!link?.last_seen) return false;
  const seen = JSON.parse(link.last_seen) as { deletedAt?: string };
  if (!seen.deletedAt) return false;
  return updatedAt === undefined || Date.parse(updatedAt) <= Date.parse(seen.deletedAt);
}

/** A Shopify variant's state as a delivery tells it. */
interface ShopifyVariantState {
  readonly gid: string;
  readonly sku: string | null;
  readonly barcode: string | null;
  readonly item: string;
}

/** The one hub variant with this SKU (or barcode) not linked in this store, if exactly one. */
async function unlinkedHubVariant(trx: Trx, storeId: number, by: "sku" | "barcode", value: string) {
  const rows = await trx
    .selectFrom("variants as v")
    .leftJoin("variant_links as l", (j) =>
      j.onRef("l.variant_id", "=", "v.id").on("l.store_id", "=", storeId),
    )
    .select(["v.id", "v.sku", "v.barcode", "l.variant_id as linked"])
    .where(by === "sku" ? "v.sku" : "v.barcode", "=", value)
    .limit(2)
    .execute();
  if (rows.length !== 1 || rows[0]!.linked !== null) return undefined;
  return { id: Number(rows[0]!.id), sku: rows[0]!.sku, barcode: rows[0]!.barcode };
}

async function linkVariant(
  trx: Trx,
  storeId: number,
  productGid: string | null,
  v: ShopifyVariantState,
  hubId: number,
  matchedBy: "sku" | "barcode",
  now: number,
  lastSeen: Record<string, unknown> = {},
): Promise<void> {
  await trx
    .deleteFrom("variant_links")
    .where("store_id", "=", storeId)
    .where("inventory_item_gid", "=", v.item)
    .execute();
  await trx
    .insertInto("variant_links")
    .values({
      store_id: storeId,
      variant_id: hubId,
      product_variant_gid: v.gid,
      inventory_item_gid: v.item,
      matched_by: matchedBy,
      linked_at: now,
      shopify_product_gid: productGid,
      last_seen: JSON.stringify({ ...lastSeen, sku: v.sku, barcode: v.barcode }),
      last_seen_at: now,
    })
    .execute();
  await markStoreDirtyFor(trx, storeId, [hubId], now);
}

/**
 * A linked Shopify variant whose SKU changed in Shopify: the link follows the new SKU when exactly
 * one unlinked hub variant has it; otherwise it is unlinked and listed as `sku_changed_in_shopify`.
 */
async function followSkuChange(
  trx: Trx,
  storeId: number,
  productGid: string | null,
  linked: LinkRow,
  v: ShopifyVariantState,
  now: number,
  lastSeen: Record<string, unknown> = {},
): Promise<Change> {
  await unlink(trx, storeId, linked);
  const next = v.sku !== null ? await unlinkedHubVariant(trx, storeId, "sku", v.sku) : undefined;
  if (next) {
    await linkVariant(trx, storeId, productGid, v, next.id, "sku", now, lastSeen);
    return {
      message: `SKU ${linked.sku} became ${v.sku} in Shopify: re-linked to the hub's ${next.sku}`,
      problem: false,
    };
  }
  await trx
    .deleteFrom("link_problems")
    .where("store_id", "=", storeId)
    .where("product_variant_gid", "=", v.gid)
    .execute();
  await problem(
    trx,
    storeId,
    {
      kind: "sku_changed_in_shopify",
      sku: v.sku,
      barcode: v.barcode,
      gid: v.gid,
      detail: `Shopify variant ${v.gid} was linked to SKU ${linked.sku}; its SKU is now ${v.sku ?? "(none)"}, which no unlinked hub variant has: unlinked, nothing is pushed for it`,
    },
    now,
  );
  return { message: `SKU ${linked.sku} became ${v.sku ?? "(none)"} in Shopify: unlinked`, problem: true };
}

async function applyProduct(trx: Trx, storeId: number, body: ProductBody, now: number): Promise<Change[]> {
  const gid = productGid(body);
  const variants = (body.variants ?? []).map((v) => ({
    gid: v.admin_graphql_api_id ?? `gid://shopify/ProductVariant/${v.id}`,
    sku: norm(v.sku),
    barcode: norm(v.barcode),
    item: `gid://shopify/InventoryItem/${v.inventory_item_id}`,
  }));
  if (await deletedSince(trx, storeId, gid, body.updated_at)) return [];
  const changes: Change[] = [];
  const links = await linksOf(
    trx,
    storeId,
    gid,
    variants.map((v) => v.gid),
  );
  const byShopify = new Map(links.map((l) => [l.product_variant_gid, l]));
  // Earlier problems about these variants are replaced by what this delivery says, except a SKU
  // change an inventory_items/update already found (this delivery may be older, or say the same).
  const skuChanged = new Map<string, { sku: string | null; detail: string }>();
  if (variants.length > 0)
    for (const r of await trx
      .selectFrom("link_problems")
      .select(["product_variant_gid", "sku", "detail"])
      .where("store_id", "=", storeId)
      .where("kind", "=", "sku_changed_in_shopify")
      .where(
        "product_variant_gid",
        "in",
        variants.map((v) => v.gid),
      )
      .execute())
      skuChanged.set(r.product_variant_gid!, { sku: r.sku, detail: r.detail });
  if (variants.length > 0)
    await trx
      .deleteFrom("link_problems")
      .where("store_id", "=", storeId)
      .where(
        "product_variant_gid",
        "in",
        variants.map((v) => v.gid),
      )
      .execute();

  const candidate = (by: "sku" | "barcode", value: string) => unlinkedHubVariant(trx, storeId, by, value);
  const link = (v: ShopifyVariantState, hubId: number, matchedBy: "sku" | "barcode") =>
    linkVariant(trx, storeId, gid, v, hubId, matchedBy, now);

  for (const v of variants) {
    const linked = byShopify.get(v.gid);
    if (linked) {
      // A link made by hand is the operator's: it stays whatever the SKU says (until unlinked or
      // the variant is deleted).
      const same =
        linked.matched_by === "manual" ||
        (v.sku !== null
          ? v.sku === linked.sku.trim()
          : v.barcode !== null && v.barcode === norm(linked.barcode));
      if (same) {
        await trx
          .updateTable("variant_links")
          .set({
            last_seen: JSON.stringify({ ...seenOf(linked), sku: v.sku, barcode: v.barcode }),
            last_seen_at: now,
            shopify_product_gid: gid,
          })
          .where("store_id", "=", storeId)
          .where("variant_id", "=", linked.variant_id)
          .execute();
        continue;
      }
      changes.push(await followSkuChange(trx, storeId, gid, linked, v, now));
      continue;
    }
    // Not linked yet: SKU, then barcode, never guessed.
    const bySku = v.sku !== null ? await candidate("sku", v.sku) : undefined;
    const byBarcode =
      !bySku && v.sku === null && v.barcode !== null ? await candidate("barcode", v.barcode) : undefined;
    const hit = bySku ?? byBarcode;
    if (hit) {
      await link(v, hit.id, bySku ? "sku" : "barcode");
      await trx
        .deleteFrom("link_problems")
        .where("store_id", "=", storeId)
        .where("kind", "=", "not_in_shopify")
        .where("sku", "=", hit.sku)
        .execute();
      changes.push({ message: `new Shopify variant linked to SKU ${hit.sku}`, problem: false });
    } else if (v.sku !== null && skuChanged.get(v.gid)?.sku === v.sku) {
      await problem(
        trx,
        storeId,
        {
          kind: "sku_changed_in_shopify",
          sku: v.sku,
          barcode: v.barcode,
          gid: v.gid,
          detail: skuChanged.get(v.gid)!.detail,
        },
        now,
      );
    } else if (v.sku === null && v.barcode === null) {
      await problem(
        trx,
        storeId,
        {
          kind: "no_sku_or_barcode",
          sku: null,
          barcode: null,
          gid: v.gid,
          detail: `Shopify variant ${v.gid} has neither SKU nor barcode`,
        },
        now,
      );
    }
  }
  // Linked variants no longer in the product were deleted in Shopify.
  const present = new Set(variants.map((v) => v.gid));
  for (const l of links) {
    if (present.has(l.product_variant_gid) || body.variants === undefined) continue;
    await unlink(trx, storeId, l);
    await problem(
      trx,
      storeId,
      {
        kind: "deleted_in_shopify",
        sku: l.sku,
        barcode: l.barcode,
        gid: l.product_variant_gid,
        detail: `the Shopify variant ${l.product_variant_gid} linked to SKU ${l.sku} was removed from its product; the link was removed`,
      },
      now,
    );
    changes.push({ message: `variant of SKU ${l.sku} removed in Shopify: unlinked`, problem: true });
  }
  const seen = await trx
    .selectFrom("product_links")
    .select(["last_seen"])
    .where("store_id", "=", storeId)
    .where("shopify_product_gid", "=", gid)
    .executeTakeFirst();
  if (seen) {
    const before = seen.last_seen ? (JSON.parse(seen.last_seen) as Record<string, unknown>) : {};
    await trx
      .updateTable("product_links")
      .set({
        last_seen: JSON.stringify({
          ...before,
          title: body.title ?? before.title,
          handle: body.handle ?? before.handle,
          status: body.status?.toUpperCase() ?? before.status,
          updatedAt: body.updated_at ?? before.updatedAt,
          variants: variants.map((v) => ({ id: v.gid, sku: v.sku, barcode: v.barcode })),
        }),
        last_seen_at: now,
      })
      .where("store_id", "=", storeId)
      .where("shopify_product_gid", "=", gid)
      .execute();
  }
  return changes;
}

const itemGid = (b: InventoryItemBody) => b.admin_graphql_api_id ?? `gid://shopify/InventoryItem/${b.id}`;

/**
 * An inventory item's update: the link's last-seen SKU, tracking and cost follow; a SKU that no
 * longer matches the linked hub variant re-links or becomes a problem, as in a products/update
 * (an item no link names is left to the products/update that comes with it: only that one says
 * which variant and product it belongs to; an empty SKU too, since only it carries the barcode).
 */
async function applyInventoryItem(
  trx: Trx,
  storeId: number,
  body: InventoryItemBody,
  now: number,
): Promise<Change[]> {
  const item = itemGid(body);
  const row = await trx
    .selectFrom("variant_links as l")
    .innerJoin("variants as v", "v.id", "l.variant_id")
    .select([
      "l.variant_id",
      "l.product_variant_gid",
      "l.inventory_item_gid",
      "l.matched_by",
      "l.last_seen",
      "l.shopify_product_gid",
      "v.sku",
      "v.barcode",
    ])
    .where("l.store_id", "=", storeId)
    .where("l.inventory_item_gid", "=", item)
    .executeTakeFirst();
  if (!row) return [];
  const linked: LinkRow = { ...row, variant_id: Number(row.variant_id) };
  const before = seenOf(linked);
  const sku = norm(body.sku);
  const seen = {
    ...before,
    sku: sku ?? before.sku ?? null,
    tracked: body.tracked ?? before.tracked ?? null,
    cost: body.cost === undefined || body.cost === null ? (before.cost ?? null) : String(body.cost),
  };
  const barcode = (before.barcode as string | null | undefined) ?? null;
  if (sku === null || linked.matched_by === "manual" || sku === linked.sku.trim()) {
    await trx
      .updateTable("variant_links")
      .set({ last_seen: JSON.stringify(seen), last_seen_at: now })
      .where("store_id", "=", storeId)
      .where("variant_id", "=", linked.variant_id)
      .execute();
    return [];
  }
  return [
    await followSkuChange(
      trx,
      storeId,
      row.shopify_product_gid,
      linked,
      { gid: linked.product_variant_gid, sku, barcode, item },
      now,
      seen,
    ),
  ];
}

async function applyDelete(trx: Trx, storeId: number, body: ProductBody, now: number): Promise<Change[]> {
  const gid = productGid(body);
  const changes: Change[] = [];
  const links = await linksOf(trx, storeId, gid, []);
  const key = await hubProductKey(trx, storeId, gid, links[0]?.variant_id);
  const named = key === null ? gid : `${gid} (hub product ${key})`;
  for (const l of links) {
    await unlink(trx, storeId, l);
    await trx
      .deleteFrom("link_problems")
      .where("store_id", "=", storeId)
      .where("product_variant_gid", "=", l.product_variant_gid)
      .execute();
    await problem(
      trx,
      storeId,
      {
        kind: "deleted_in_shopify",
        sku: l.sku,
        barcode: l.barcode,
        gid: l.product_variant_gid,
        detail: `the Shopify product ${named} of SKU ${l.sku} was deleted; the link was removed and nothing is pushed for it`,
      },
      now,
    );
    changes.push({ message: `SKU ${l.sku}${key === null ? "" : ` of ${key}`} unlinked`, problem: true });
  }
  // The product link stays, marked deleted: a late products/update from before is then ignored.
  await trx
    .updateTable("product_links")
    .set({ last_seen: JSON.stringify({ deletedAt: new Date(now).toISOString() }), last_seen_at: now })
    .where("store_id", "=", storeId)
    .where("shopify_product_gid", "=", gid)
    .execute();
  return changes;
}
