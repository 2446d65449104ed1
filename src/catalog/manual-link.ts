/**
 * Link problems resolved by the operator: a hub variant linked by hand to a Shopify variant the
 * operator chose (one of an ambiguous match's candidates, or any variant by id), and unlinked.
 * The Shopify variant is read from Shopify under the store's lease (an operator job), so a link is
 * never made to a variant that does not exist or with a stale inventory item. A hand-made link is
 * `matched_by = manual`: later links and imports keep it while both variants exist.
 */
import { z } from "zod";
import { AppError } from "../core/errors.ts";
import type { Database, Db } from "../db/database.ts";
import { markStoreDirtyFor } from "../inventory/push/push-store.ts";
import { graphql } from "../shopify/graphql.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import { logActivity } from "../shops/activity.ts";

const VARIANT_GID = /^gid:\/\/shopify\/ProductVariant\/\d{1,20}$/;

/** A Shopify variant named by its GID or its numeric id; answered as the GID. */
export const shopifyVariantId = z
  .union([z.string().regex(VARIANT_GID), z.string().regex(/^\d{1,20}$/)])
  .transform((s) => (s.startsWith("gid://") ? s : `gid://shopify/ProductVariant/${s}`))
  .describe("The Shopify variant: its GID (gid://shopify/ProductVariant/123) or numeric id");

export const manualLinkInput = z
  .object({
    sku: z.string().trim().min(1).max(255).describe("The hub variant's SKU"),
    productVariantId: shopifyVariantId,
    move: z
      .boolean()
      .default(false)
      .describe(
        "The Shopify variant is linked to another hub variant: move it to this one (that one is unlinked). Without it such a link is refused (409 VARIANT_LINKED_ELSEWHERE).",
      ),
  })
  .strict();
export type ManualLinkInput = z.output<typeof manualLinkInput>;

export const PRODUCT_VARIANT_QUERY = graphql`
  query TillbridgeProductVariant($id: ID!) {
    productVariant(id: $id) {
      id
      sku
      barcode
      inventoryItem {
        id
      }
      product {
        id
      }
    }
  }
`;

interface VariantAnswer {
  productVariant: {
    id: string;
    sku: string | null;
    barcode: string | null;
    inventoryItem: { id: string };
    product: { id: string };
  } | null;
}

/** The hub variant of a SKU, or 404. */
async function hubVariant(db: Db, sku: string) {
  const row = await db.selectFrom("variants").select(["id", "sku"]).where("sku", "=", sku).executeTakeFirst();
  if (!row) throw new AppError("NOT_FOUND", `the hub has no variant with SKU ${sku}`);
  return { id: Number(row.id), sku: row.sku };
}

/**
 * What is checked before anything is read from Shopify (the route answers at once): the hub
 * variant exists and the Shopify variant is not linked to another hub variant unless moved.
 */
export async function checkManualLink(db: Db, storeId: number, input: ManualLinkInput): Promise<void> {
  const hub = await hubVariant(db, input.sku);
  const holder = await db
    .selectFrom("variant_links as l")
    .innerJoin("variants as v", "v.id", "l.variant_id")
    .select(["l.variant_id", "v.sku"])
    .where("l.store_id", "=", storeId)
    .where("l.product_variant_gid", "=", input.productVariantId)
    .executeTakeFirst();
  if (holder && Number(holder.variant_id) !== hub.id && !input.move)
    throw new AppError(
      "CONFLICT",
      `Shopify variant ${input.productVariantId} is linked to SKU ${holder.sku}; send move=true to link it to ${hub.sku} instead`,
      [{ code: "VARIANT_LINKED_ELSEWHERE", message: `linked to ${holder.sku}`, path: "productVariantId" }],
    );
}

export interface ManualLinkResult {
  readonly sku: string;
  readonly productVariantId: string;
  readonly inventoryItemId: string;
  readonly productId: string;
  /** The SKU the Shopify variant was moved from, if it was linked elsewhere. */
  readonly movedFrom: string | null;
}

/** The job: read the Shopify variant, then write the link in one transaction. */
export async function runManualLink(
  database: Database,
  transport: AdminTransport,
  storeId: number,
  input: ManualLinkInput,
  now: number,
): Promise<ManualLinkResult> {
  const answer = await transport.graphql<VariantAnswer>(
    PRODUCT_VARIANT_QUERY,
    { id: input.productVariantId },
    { estimatedCost: 3 },
  );
  const v = answer.data.productVariant;
  if (!v)
    throw new AppError(
      "NOT_FOUND",
      `the store has no Shopify variant ${input.productVariantId}; it may have been deleted`,
    );
  return database.db.transaction().execute(async (trx) => {
    // Checked again inside the transaction: the state may have changed while Shopify was read.
    await checkManualLink(trx, storeId, input);
    const hub = await hubVariant(trx, input.sku);
    const moved = await trx
      .selectFrom("variant_links as l")
      .innerJoin("variants as h", "h.id", "l.variant_id")
      .select(["l.variant_id", "l.inventory_item_gid", "h.sku"])
      .where("l.store_id", "=", storeId)
      .where((eb) =>
        eb.or([eb("l.product_variant_gid", "=", v.id), eb("l.inventory_item_gid", "=", v.inventoryItem.id)]),
      )
      .where("l.variant_id", "!=", hub.id)
      .executeTakeFirst();
    const own = await trx
      .selectFrom("variant_links")
      .select(["inventory_item_gid"])
      .where("store_id", "=", storeId)
      .where("variant_id", "=", hub.id)
      .executeTakeFirst();
    const oldItems = [own?.inventory_item_gid, moved?.inventory_item_gid].filter(
      (g): g is string => !!g && g !== v.inventoryItem.id,
    );
    // The pushed state of items that are no longer this store's link is dropped, as linking does.
    if (oldItems.length > 0)
      await trx
        .deleteFrom("inventory_sync")
        .where("store_id", "=", storeId)
        .where("inventory_item_gid", "in", oldItems)
        .execute();
    await trx
      .deleteFrom("variant_links")
      .where("store_id", "=", storeId)
      .where((eb) =>
        eb.or([
          eb("variant_id", "=", hub.id),
          eb("product_variant_gid", "=", v.id),
          eb("inventory_item_gid", "=", v.inventoryItem.id),
        ]),
      )
      .execute();
    await trx
      .insertInto("variant_links")
      .values({
        store_id: storeId,
        variant_id: hub.id,
        product_variant_gid: v.id,
        inventory_item_gid: v.inventoryItem.id,
        matched_by: "manual",
        linked_at: now,
        shopify_product_gid: v.product.id,
        last_seen: JSON.stringify({ sku: v.sku, barcode: v.barcode }),
        last_seen_at: now,
      })
      .execute();
    // The other candidates of a problem this link resolves stay named (as a later match names
    // them): a Shopify variant with the same SKU that is not linked.
    const resolved = await trx
      .selectFrom("link_problems")
      .select(["candidates"])
      .where("store_id", "=", storeId)
      .where("sku", "=", hub.sku)
      .where("candidates", "is not", null)
      .execute();
    const others = [...new Set(resolved.flatMap((r) => JSON.parse(r.candidates!) as string[]))].filter(
      (c) => c !== v.id,
    );
    // The problems this link resolves: those naming the hub SKU or the Shopify variant.
    await trx
      .deleteFrom("link_problems")
      .where("store_id", "=", storeId)
      .where((eb) =>
        eb.or([
          eb("sku", "=", hub.sku),
          eb("product_variant_gid", "=", v.id),
          ...(v.sku ? [eb("sku", "=", v.sku)] : []),
        ]),
      )
      .execute();
    if (others.length > 0)
      await trx
        .insertInto("link_problems")
        .values(
          others.map((c) => ({
            store_id: storeId,
            kind: "hub_variant_matches_two" as const,
            sku: hub.sku,
            barcode: null,
            product_variant_gid: c,
            detail: `SKU ${hub.sku} is linked by hand to Shopify variant ${v.id}; Shopify variant ${c} has the same SKU and is not linked`,
            detected_at: now,
          })),
        )
        .execute();
    if (moved)
      await trx
        .insertInto("link_problems")
        .values({
          store_id: storeId,
          kind: "not_in_shopify",
          sku: moved.sku,
          barcode: null,
          product_variant_gid: null,
          detail: `its Shopify variant ${v.id} was linked by hand to SKU ${hub.sku}; link ${moved.sku} by hand to another variant`,
          detected_at: now,
        })
        .execute();
    await markStoreDirtyFor(trx, storeId, [hub.id], now);
    await logActivity(
      trx,
      {
        storeId,
        flow: "inventory_push",
        kind: "linked",
        level: "info",
        message: `SKU ${hub.sku} linked by hand to Shopify variant ${v.id}${moved ? ` (moved from SKU ${moved.sku})` : ""}`,
        data: { sku: hub.sku, productVariantId: v.id, movedFrom: moved?.sku ?? null },
      },
      now,
    );
    return {
      sku: hub.sku,
      productVariantId: v.id,
      inventoryItemId: v.inventoryItem.id,
      productId: v.product.id,
      movedFrom: moved?.sku ?? null,
    };
  });
}

/**
 * Unlink a hub variant from the store: nothing is pushed for it until it is linked again (a later
 * link or import may match it again by SKU or barcode). No Shopify call: the link is the hub's.
 */
export async function unlinkVariant(
  db: Db,
  storeId: number,
  sku: string,
  now: number,
): Promise<{ sku: string; productVariantId: string; matchedBy: string }> {
  return db.transaction().execute(async (trx) => {
    const hub = await hubVariant(trx, sku);
    const link = await trx
      .selectFrom("variant_links")
      .select(["product_variant_gid", "inventory_item_gid", "matched_by"])
      .where("store_id", "=", storeId)
      .where("variant_id", "=", hub.id)
      .executeTakeFirst();
    if (!link) throw new AppError("NOT_FOUND", `SKU ${hub.sku} is not linked in this store`);
    await trx
      .deleteFrom("variant_links")
      .where("store_id", "=", storeId)
      .where("variant_id", "=", hub.id)
      .execute();
    await trx
      .deleteFrom("inventory_sync")
      .where("store_id", "=", storeId)
      .where("inventory_item_gid", "=", link.inventory_item_gid)
      .execute();
    await logActivity(
      trx,
      {
        storeId,
        flow: "inventory_push",
        kind: "unlinked",
        level: "info",
        message: `SKU ${hub.sku} unlinked by hand from Shopify variant ${link.product_variant_gid}`,
        data: { sku: hub.sku, productVariantId: link.product_variant_gid },
      },
      now,
    );
    return { sku: hub.sku, productVariantId: link.product_variant_gid, matchedBy: link.matched_by };
  });
}
