/**
 * Mapping settings per store: payment gateways → the back office's payment methods, shipping
 * lines → carrier and service codes, tax lines (title and rate, per country or province) → tax
 * codes, sources and POS locations → sales channels and branches. A category left `null` is not
 * mapped (its codes are absent from the feed); once a category is set, every value an order
 * carries must be mapped, or the order is parked with a reason naming the value. Adding the
 * mapping releases it. `resolveMappings` is pure.
 */
import { z } from "zod";
import type { Db } from "../db/database.ts";
import type { Trx } from "../inventory/ledger-store.ts";
import { type OrderMoney, units } from "./money.ts";

const code = z.string().trim().min(1).max(64);
const rate = z.string().regex(/^\d+(\.\d+)?$/, "a rate is a decimal fraction such as 0.21");

export const orderMappingsSchema = z
  .object({
    /** Shopify gateway name (`shopify_payments`, `gift_card`, `shopify_store_credit`, `manual`…) → payment method. */
    paymentGateways: z.record(z.string().min(1), code).nullable().default(null),
    /** First match wins; every given field must equal the shipping line's. */
    shippingLines: z
      .array(
        z
          .object({
            code: z.string().min(1).optional(),
            title: z.string().min(1).optional(),
            carrierIdentifier: z.string().min(1).optional(),
            carrier: code,
            service: code,
          })
          .refine(
            (m) => m.code || m.title || m.carrierIdentifier,
            "match on code, title or carrierIdentifier",
          ),
      )
      .nullable()
      .default(null),
    /** The most specific match wins (province, then country, then any). */
    taxLines: z
      .array(
        z.object({
          title: z.string().min(1),
          rate,
          /** ISO country code of the shipping (else billing) address; null = any. */
          country: z.string().length(2).nullable().default(null),
          province: z.string().min(1).nullable().default(null),
          taxCode: code,
        }),
      )
      .nullable()
      .default(null),
    /** Order source (`web`, `pos`, `draft`, `b2b`, `other`) → sales channel. */
    sources: z
      .partialRecord(z.enum(["web", "pos", "draft", "b2b", "other"]), code)
      .nullable()
      .default(null),
    /** Shopify location gid of a POS sale → branch. */
    posLocations: z.record(z.string().min(1), code).nullable().default(null),
  })
  .meta({
    examples: [
      {
        paymentGateways: { shopify_payments: "CARD", gift_card: "GIFTCARD", shopify_store_credit: "CREDIT" },
        shippingLines: [{ code: "EXPRESS", carrier: "DHL", service: "EXP" }],
        taxLines: [{ title: "VAT", rate: "0.21", country: "NL", province: null, taxCode: "V21" }],
        sources: { web: "WEBSHOP", pos: "STORE", b2b: "WHOLESALE" },
        posLocations: { "gid://shopify/Location/1": "BRANCH-AMS" },
      },
    ],
  });

export type OrderMappings = z.infer<typeof orderMappingsSchema>;

/**
 * What PUT …/order-mappings accepts: the stored shape, plus checks for mistakes people make when
 * typing rules on a screen (kept out of the stored shape so a mapping saved before still loads).
 * A rule that could never match an order is refused here instead of parking orders later.
 */
export const orderMappingsInput = orderMappingsSchema.partial().superRefine((m, ctx) => {
  m.taxLines?.forEach((t, i) => {
    if (t.country !== null && !/^[A-Z]{2}$/.test(t.country))
      ctx.addIssue({
        code: "custom",
        path: ["taxLines", i, "country"],
        message: "a two-letter ISO country code in capitals, such as NL (Shopify sends them so)",
      });
    if (rate.safeParse(t.rate).success && Number(t.rate) > 1)
      ctx.addIssue({
        code: "custom",
        path: ["taxLines", i, "rate"],
        message: `a rate is a fraction of 1: ${t.rate}% is ${Number(t.rate) / 100}`,
      });
  });
  const seen = new Map<string, number>();
  m.shippingLines?.forEach((s, i) => {
    const key = JSON.stringify([s.code ?? null, s.title ?? null, s.carrierIdentifier ?? null]);
    const first = seen.get(key);
    if (first !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["shippingLines", i],
        message: `matches the same shipping lines as rule ${first + 1}, which comes first, so it would never be used`,
      });
    else seen.set(key, i);
  });
});
export const NO_MAPPINGS: OrderMappings = orderMappingsSchema.parse({});

export async function loadMappings(db: Db | Trx, storeId: number): Promise<OrderMappings> {
  const row = await db
    .selectFrom("order_mappings")
    .select("mappings")
    .where("store_id", "=", storeId)
    .executeTakeFirst();
  if (!row) return NO_MAPPINGS;
  const parsed = orderMappingsSchema.safeParse(JSON.parse(row.mappings));
  return parsed.success ? parsed.data : NO_MAPPINGS;
}

export async function saveMappings(
  db: Db | Trx,
  storeId: number,
  m: OrderMappings,
  now: number,
): Promise<void> {
  const json = JSON.stringify(m);
  await db
    .insertInto("order_mappings")
    .values({ store_id: storeId, mappings: json, updated_at: now })
    .onConflict((oc) => oc.column("store_id").doUpdateSet({ mappings: json, updated_at: now }))
    .execute();
}

export interface Place {
  readonly country: string | null;
  readonly province: string | null;
}

const sameRate = (a: string, b: string) => {
  try {
    return units(a) === units(b);
  } catch {
    return false;
  }
};

/** The tax code of a tax line at a place, or undefined (null when tax lines are not mapped). */
export function taxCodeOf(
  m: OrderMappings,
  t: { title: string; rate: string },
  place: Place,
): string | null | undefined {
  if (m.taxLines === null) return null;
  const candidates = m.taxLines.filter(
    (x) =>
      x.title === t.title &&
      sameRate(x.rate, t.rate) &&
      (x.country === null || x.country === place.country) &&
      (x.province === null || x.province === place.province),
  );
  const score = (x: (typeof candidates)[number]) => (x.province ? 2 : 0) + (x.country ? 1 : 0);
  return candidates.sort((a, b) => score(b) - score(a))[0]?.taxCode;
}

export function shippingCodeOf(
  m: OrderMappings,
  s: { title: string; code: string | null; carrierIdentifier: string | null },
): { carrier: string; service: string } | null | undefined {
  if (m.shippingLines === null) return null;
  const hit = m.shippingLines.find(
    (x) =>
      (x.code === undefined || x.code === s.code) &&
      (x.title === undefined || x.title === s.title) &&
      (x.carrierIdentifier === undefined || x.carrierIdentifier === s.carrierIdentifier),
  );
  return hit ? { carrier: hit.carrier, service: hit.service } : undefined;
}

const percent = (rate: string) => {
  try {
    const u = units(rate) * 100n;
    const whole = u / 10_000n;
    const frac = (u % 10_000n).toString().padStart(4, "0").replace(/0+$/, "");
    return frac ? `${whole}.${frac}` : `${whole}`;
  } catch {
    return rate;
  }
};

/** Every value of the order that its store's mapping does not cover, in words. */
export function mappingMisses(m: OrderMappings, money: OrderMoney, place: Place): string[] {
  const misses: string[] = [];
  if (m.paymentGateways !== null)
    for (const g of money.paymentGateways)
      if (m.paymentGateways[g] === undefined) misses.push(`payment gateway '${g}' has no payment method`);
  for (const s of money.shippingLines)
    if (shippingCodeOf(m, s) === undefined)
      misses.push(
        `shipping line '${s.title}'${s.code ? ` (code ${s.code})` : ""} has no carrier and service code`,
      );
  const seen = new Set<string>();
  for (const t of [
    ...money.lines.flatMap((l) => l.taxLines),
    ...money.shippingLines.flatMap((s) => s.taxLines),
  ]) {
    const k = `${t.title}|${t.rate}`;
    if (seen.has(k)) continue;
    seen.add(k);
    if (taxCodeOf(m, t, place) === undefined)
      misses.push(
        `tax line '${t.title}' at ${percent(t.rate)}% for ${place.country ?? "no country"}${place.province ? `/${place.province}` : ""} has no tax code`,
      );
  }
  if (m.sources !== null && m.sources[money.source.kind] === undefined)
    misses.push(`source '${money.source.kind}' has no sales channel`);
  if (m.posLocations !== null && money.source.kind === "pos") {
    const loc = money.source.locationGid;
    if (loc === null || m.posLocations[loc] === undefined)
      misses.push(`POS location ${loc ?? "(none)"} has no branch`);
  }
  return misses;
}
