/**
 * Per-store order settings (seed 001's "Get Orders" options, plus customers, retention and the
 * outbound webhook). Stored as JSON in `order_settings.settings`, validated by this schema both
 * when read and when an operator writes them, so a missing row means the defaults.
 */
import { z } from "zod";
import type { Db } from "../db/database.ts";
import type { Trx } from "../inventory/ledger-store.ts";
import { decryptSecret, encryptSecret, isSealedValue, sealedAt } from "../shops/secrets.ts";

export const FULFILLMENT_FILTER = ["unfulfilled", "partial", "fulfilled"] as const;

export const orderSettingsSchema = z.object({
  /** Shopify financial statuses (lower case) whose orders are imported. */
  financialStatuses: z
    .array(z.string().min(1))
    .default(["paid", "partially_paid", "authorized", "partially_refunded"]),
  fulfillmentStatuses: z.array(z.enum(FULFILLMENT_FILTER)).default(["unfulfilled", "partial"]),
  /** Only orders of these Shopify locations (gids); null = every location. */
  locationGids: z.array(z.string().min(1)).nullable().default(null),
  /** Import orders that carry no location (they reserve at the store's default location). */
  importWithoutLocation: z.boolean().default(true),
  /** Orders last updated more than this many days ago are not imported (also the first backfill's window). */
  lastDays: z.number().int().min(1).max(365).default(14),
  /** Tag added in Shopify after import (null: none). */
  tag: z.string().min(1).max(40).nullable().default("tillbridge-imported"),
  /** Hub customer id used for orders without an email (POS walk-ins); null: no customer. */
  defaultCustomerId: z.number().int().positive().nullable().default(null),
  /** Delete personal data this many days after an order is fulfilled or cancelled; null: keep. */
  retentionDays: z.number().int().min(0).max(3650).nullable().default(null),
  /** Back office endpoint for `order.created|updated|cancelled`; null: no outbound webhooks. */
  outboundUrl: z.string().url().nullable().default(null),
  /** HMAC-SHA256 secret for the outbound signature. Write-only over the API. */
  outboundSecret: z.string().min(16).nullable().default(null),
});

export type OrderSettings = z.infer<typeof orderSettingsSchema>;

export const DEFAULT_SETTINGS: OrderSettings = orderSettingsSchema.parse({});

export async function loadSettings(db: Db | Trx, storeId: number): Promise<OrderSettings> {
  const row = await db
    .selectFrom("order_settings")
    .select("settings")
    .where("store_id", "=", storeId)
    .executeTakeFirst();
  if (!row) return DEFAULT_SETTINGS;
  const parsed = orderSettingsSchema.safeParse(JSON.parse(row.settings));
  return parsed.success ? parsed.data : DEFAULT_SETTINGS;
}

/**
 * Stores the settings; the outbound secret is kept encrypted (AES-256-GCM), and only
 * `outboundSecretOf` turns it back into the signing secret.
 */
export async function saveSettings(
  db: Db,
  storeId: number,
  settings: OrderSettings,
  now: number,
  key: Buffer,
) {
  const secret = settings.outboundSecret;
  const sealed =
    secret === null || isSealedValue(secret)
      ? secret
      : encryptSecret(secret, key, sealedAt.outboundSecret(storeId));
  const json = JSON.stringify({ ...settings, outboundSecret: sealed });
  await db
    .insertInto("order_settings")
    .values({ store_id: storeId, settings: json, backfill_cursor: null, backfill_at: null, updated_at: now })
    .onConflict((oc) => oc.column("store_id").doUpdateSet({ settings: json, updated_at: now }))
    .execute();
}

/** The signing secret (decrypted; secrets stored before encryption are read as they are). */
export function outboundSecretOf(settings: OrderSettings, key: Buffer, storeId: number): string | null {
  const s = settings.outboundSecret;
  return s === null ? null : isSealedValue(s) ? decryptSecret(s, key, sealedAt.outboundSecret(storeId)) : s;
}

/** What the API shows: the secret is never returned, only whether one is set. */
export function publicSettings(s: OrderSettings) {
  const { outboundSecret, ...rest } = s;
  return { ...rest, outboundSecretSet: outboundSecret !== null };
}
