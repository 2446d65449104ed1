/**
 * The back office's price groups over HTTP (issue 16, seed 004): groups with their currency,
 * their prices by SKU (all or nothing: an unknown SKU, a price in another currency than the
 * group's, a SKU twice refuses the whole batch with every problem listed), and per store the
 * Shopify price list each group became with its publish state.
 */
import { z } from "zod";
import type { AppContext } from "../core/context.ts";
import { AppError, type ErrorDetail } from "../core/errors.ts";
import { line, trimmedKey } from "../core/input.ts";
import { route } from "../core/route.ts";
import { chunks } from "../db/batching.ts";
import { requireStore } from "../shops/stores.ts";
import {
  countPrices,
  findGroup,
  groupHasPriceList,
  listGroups,
  type PriceGroup,
  priceDb,
  priceHash,
  storePriceLists,
  variantIds,
} from "./price-store.ts";

export const MAX_PRICES_PER_BATCH = 1000;
const MONEY = /^\d{1,11}(\.\d{1,2})?$/;
const money = () =>
  z
    .string()
    .regex(MONEY, 'a price is a non-negative decimal string with at most 2 decimal places, e.g. "19.90"');
const currency = () =>
  z
    .string()
    .regex(/^[A-Z]{3}$/, "a currency is an ISO 4217 code in capitals, e.g. EUR")
    .describe("ISO 4217 currency code of the group's price list");
const code = () => trimmedKey(64).describe("The back office's price group code");

const groupInput = z.object({
  groups: z
    .array(z.object({ code: code(), name: line(255).pipe(z.string().min(1)), currency: currency() }).strict())
    .min(1)
    .max(200),
});

const priceInput = z.object({
  prices: z
    .array(
      z
        .object({
          sku: trimmedKey(255),
          price: money(),
          compareAtPrice: money().nullable().optional(),
          currency: currency().describe("The price's currency: must be the group's"),
        })
        .strict(),
    )
    .max(MAX_PRICES_PER_BATCH)
    .default([]),
  remove: z
    .array(trimmedKey(255))
    .max(MAX_PRICES_PER_BATCH)
    .default([])
    .describe("SKUs whose group price goes"),
});

const groupView = z.object({
  code: z.string(),
  name: z.string(),
  currency: z.string(),
  prices: z.number().int(),
});

export function priceRoutes(ctx: AppContext) {
  const db = ctx.database.db;
  const pdb = priceDb(db);
  return [
    route({
      method: "PUT",
      url: "/api/v1/price-groups",
      tag: "prices",
      auth: "stock.write",
      summary:
        "Create or update price groups by code (name, currency). A group's currency cannot change while it holds prices or a store has its price list (409 CONFLICT, CURRENCY_LOCKED per group). Each group becomes a Shopify price list, attached to a catalog, in every store where one of its prices has a product.",
      body: groupInput,
      response: z.object({
        created: z.number().int(),
        updated: z.number().int(),
        unchanged: z.number().int(),
      }),
      async handler({ body }) {
        const now = ctx.clock.now();
        const seen = new Set<string>();
        const dupes: ErrorDetail[] = [];
        body.groups.forEach((g, i) => {
          if (seen.has(g.code))
            dupes.push({
              path: `groups[${i}].code`,
              index: i,
              code: "DUPLICATE_CODE_IN_BATCH",
              message: `${g.code} is listed twice`,
            });
          seen.add(g.code);
        });
        if (dupes.length > 0) throw new AppError("INVALID_REQUEST", "a price group is listed twice", dupes);
        return db.transaction().execute(async (trx) => {
          const problems: ErrorDetail[] = [];
          const plan: { i: number; before: PriceGroup | undefined }[] = [];
          for (const [i, g] of body.groups.entries()) {
            const before = await findGroup(trx, g.code);
            if (before && before.currency !== g.currency) {
              const prices = await countPrices(trx, before.id);
              if (prices > 0 || (await groupHasPriceList(trx, before.id)))
                problems.push({
                  path: `groups[${i}].currency`,
                  index: i,
                  id: g.code,
                  code: "CURRENCY_LOCKED",
                  message: `price group ${g.code} is in ${before.currency} and ${prices > 0 ? `holds ${prices} prices` : "has a Shopify price list"}; a price list's currency cannot change: create a new group for ${g.currency}`,
                });
            }
            plan.push({ i, before });
          }
          if (problems.length > 0)
            throw new AppError("CONFLICT", "a price group's currency cannot change", problems);
          let created = 0;
          let updated = 0;
          let unchanged = 0;
          for (const { i, before } of plan) {
            const g = body.groups[i]!;
            if (!before) {
              await priceDb(trx)
                .insertInto("price_groups")
                .values({
                  code: g.code,
                  name: g.name,
                  currency: g.currency,
                  created_at: now,
                  updated_at: now,
                })
                .execute();
              created++;
            } else if (before.name !== g.name || before.currency !== g.currency) {
              await priceDb(trx)
                .updateTable("price_groups")
                .set({ name: g.name, currency: g.currency, updated_at: now })
                .where("id", "=", before.id)
                .execute();
              updated++;
            } else unchanged++;
          }
          return { created, updated, unchanged };
        });
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/price-groups",
      tag: "prices",
      auth: "stock.read",
      summary: "Every price group with its currency and how many prices it holds.",
      response: z.object({ items: z.array(groupView) }),
      handler: async () => ({
        items: (await listGroups(db)).map(({ code, name, currency, prices }) => ({
          code,
          name,
          currency,
          prices,
        })),
      }),
    }),
    route({
      method: "PUT",
      url: "/api/v1/price-groups/:code/prices",
      tag: "prices",
      auth: "stock.write",
      summary: `Set up to ${MAX_PRICES_PER_BATCH} prices of a price group by SKU (price, compare-at price, currency) and remove others (remove: SKUs). All or nothing: a price in another currency than the group's (CURRENCY_MISMATCH), an unknown SKU (UNKNOWN_SKU), a SKU listed twice (DUPLICATE_SKU_IN_BATCH) refuse the batch with each problem's path. Only the group's own price list changes in Shopify.`,
      params: z.object({ code: code() }),
      body: priceInput,
      response: z.object({
        created: z.number().int(),
        updated: z.number().int(),
        unchanged: z.number().int(),
        removed: z.number().int(),
      }),
      async handler({ params, body }) {
        const group = await findGroup(db, params.code);
        if (!group)
          throw new AppError(
            "NOT_FOUND",
            `price group ${params.code} does not exist; create it first with PUT /api/v1/price-groups`,
            [{ id: params.code, code: "UNKNOWN_PRICE_GROUP", message: `no price group ${params.code}` }],
          );
        const problems: ErrorDetail[] = [];
        const seen = new Set<string>();
        body.prices.forEach((p, i) => {
          if (p.currency !== group.currency)
            problems.push({
              path: `prices[${i}].currency`,
              index: i,
              id: p.sku,
              code: "CURRENCY_MISMATCH",
              message: `${p.sku}: a ${p.currency} price cannot go into price group ${group.code}, whose price list is in ${group.currency}`,
            });
          if (seen.has(p.sku))
            problems.push({
              path: `prices[${i}].sku`,
              index: i,
              id: p.sku,
              code: "DUPLICATE_SKU_IN_BATCH",
              message: `${p.sku} is listed twice`,
            });
          seen.add(p.sku);
        });
        body.remove.forEach((sku, i) => {
          if (seen.has(sku))
            problems.push({
              path: `remove[${i}]`,
              index: i,
              id: sku,
              code: "DUPLICATE_SKU_IN_BATCH",
              message: `${sku} is both set and removed`,
            });
        });
        const ids = await variantIds(db, [...body.prices.map((p) => p.sku), ...body.remove]);
        body.prices.forEach((p, i) => {
          if (!ids.has(p.sku))
            problems.push({
              path: `prices[${i}].sku`,
              index: i,
              id: p.sku,
              code: "UNKNOWN_SKU",
              message: `the hub has no variant ${p.sku}; send it with PUT /api/v1/products first`,
            });
        });
        if (problems.length > 0) {
          const currencyOnly = problems.every((p) => p.code === "CURRENCY_MISMATCH");
          throw new AppError(
            problems.some((p) => p.code === "UNKNOWN_SKU") ? "UNKNOWN_SKU" : "INVALID_REQUEST",
            currencyOnly
              ? `price group ${group.code} takes prices in ${group.currency} only; nothing was saved`
              : `${problems.length} problem(s) in the batch; nothing was saved`,
            problems,
          );
        }
        const now = ctx.clock.now();
        return db.transaction().execute(async (trx) => {
          const t = priceDb(trx);
          const existing = new Map<number, string>();
          const wanted = [...ids.values()];
          for (const part of chunks(wanted, 500)) {
            const rows = await t
              .selectFrom("price_group_prices")
              .select(["variant_id", "hash"])
              .where("group_id", "=", group.id)
              .where("variant_id", "in", part)
              .execute();
            for (const r of rows) existing.set(Number(r.variant_id), r.hash);
          }
          let created = 0;
          let updated = 0;
          let unchanged = 0;
          let removed = 0;
          for (const p of body.prices) {
            const variantId = ids.get(p.sku)!;
            const compareAt = p.compareAtPrice ?? null;
            const hash = priceHash(p.price, compareAt, group.currency);
            const before = existing.get(variantId);
            if (before === hash) {
              unchanged++;
              continue;
            }
            const values = { price: p.price, compare_at_price: compareAt, hash, updated_at: now };
            if (before === undefined) {
              await t
                .insertInto("price_group_prices")
                .values({ group_id: group.id, variant_id: variantId, ...values })
                .execute();
              created++;
            } else {
              await t
                .updateTable("price_group_prices")
                .set(values)
                .where("group_id", "=", group.id)
                .where("variant_id", "=", variantId)
                .execute();
              updated++;
            }
          }
          for (const sku of body.remove) {
            const variantId = ids.get(sku);
            if (variantId === undefined || !existing.has(variantId)) continue;
            await t
              .deleteFrom("price_group_prices")
              .where("group_id", "=", group.id)
              .where("variant_id", "=", variantId)
              .execute();
            removed++;
          }
          if (created + updated + removed > 0)
            await t.updateTable("price_groups").set({ updated_at: now }).where("id", "=", group.id).execute();
          return { created, updated, unchanged, removed };
        });
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/price-groups/:code/prices",
      tag: "prices",
      auth: "stock.read",
      summary: "A price group's prices by SKU, paged with `cursor=nextCursor` (the last SKU of the page).",
      params: z.object({ code: code() }),
      query: z.object({
        cursor: z.string().max(255).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      async handler({ params, query }) {
        const group = await findGroup(db, params.code);
        if (!group)
          throw new AppError("NOT_FOUND", `price group ${params.code} does not exist`, [
            { id: params.code, code: "UNKNOWN_PRICE_GROUP", message: `no price group ${params.code}` },
          ]);
        let q = pdb
          .selectFrom("price_group_prices as p")
          .innerJoin("variants as v", "v.id", "p.variant_id")
          .select(["v.sku", "p.price", "p.compare_at_price"])
          .where("p.group_id", "=", group.id)
          .orderBy("v.sku")
          .limit(query.limit + 1);
        if (query.cursor) q = q.where("v.sku", ">", query.cursor);
        const rows = await q.execute();
        const page = rows.slice(0, query.limit);
        return {
          code: group.code,
          currency: group.currency,
          items: page.map((r) => ({
            sku: r.sku,
            price: r.price,
            compareAtPrice: r.compare_at_price,
            currency: group.currency,
          })),
          nextCursor: rows.length > query.limit ? (page.at(-1)?.sku ?? null) : null,
        };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/price-lists",
      tag: "prices",
      auth: "store.read",
      summary:
        "Per price group, the store's Shopify price list and catalog, how many prices it holds as sent, how many wait, how many are not sent because their product is not in the store, and the last error.",
      params: z.object({ domain: z.string().min(1).max(255) }),
      async handler({ params }) {
        const store = await requireStore(ctx.database, params.domain);
        return { items: await storePriceLists(db, store.id) };
      },
    }),
  ];
}
