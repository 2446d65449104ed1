/**
 * Many-row inserts (src/catalog/bulk-insert.ts) store exactly what a VALUES insert would, on both
 * databases: PostgreSQL takes each column as one array (`unnest`), so text that array literals
 * must escape (quotes, backslashes, braces, commas, NULL spelled out, empty strings, non-ASCII),
 * NULLs of every type, large integers and fractions all round-trip, and ON CONFLICT still applies.
 * Random rows on a fixed seed (CATALOG_INSERT_SEED=random or a number explores others).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertRows, VARIANT_COLUMNS } from "../src/catalog/bulk-insert.ts";
import type { Database } from "../src/db/database.ts";
import { DIALECTS, openTestDatabase } from "./support/databases.ts";

const env = process.env.CATALOG_INSERT_SEED;
const seed = env === "random" ? Date.now() % 2 ** 31 : env ? Number(env) : 150_015;

const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('"', "\\", "{a,b}", "NULL", "null", "", " x ", "é✓😀", "a\nb", "'; --"),
);
const variant = fc.record({
  barcode: fc.option(text, { nil: null }),
  title: fc.option(text, { nil: null }),
  option1: fc.option(text, { nil: null }),
  option2: fc.option(text, { nil: null }),
  option3: fc.option(text, { nil: null }),
  position: fc.option(fc.integer({ min: 1, max: 2048 }), { nil: null }),
  weight_value: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: null }),
  weight_unit: fc.option(fc.constantFrom("GRAMS", "KILOGRAMS"), { nil: null }),
  taxable: fc.option(fc.constantFrom(0, 1), { nil: null }),
  inventory_tracked: fc.option(fc.constantFrom(0, 1), { nil: null }),
  price_minor: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: null }),
  compare_at_price_minor: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: null }),
  cost_minor: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: null }),
});

describe.each(DIALECTS)("many-row inserts on %s", (dialect) => {
  let database: Database & { drop(): Promise<void> };
  beforeAll(async () => {
    database = await openTestDatabase(dialect);
  });
  afterAll(async () => database?.drop());

  it("store every value as given, and upsert on conflict", async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(variant, { minLength: 1, maxLength: 30 }), async (rows) => {
        round++;
        const full = rows.map((r, i) => ({
          ...r,
          sku: `R${round}-${i}`,
          product_id: null,
          created_at: 1_700_000_000_000 + i,
          updated_at: 1_700_000_000_000 + i,
        }));
        await database.db.transaction().execute(async (trx) => {
          await insertRows(trx, "variants", VARIANT_COLUMNS, full).execute();
          // The same rows again with a new title: ON CONFLICT updates them.
          await insertRows(
            trx,
            "variants",
            VARIANT_COLUMNS,
            full.map((r) => ({ ...r, title: `again ${r.title ?? ""}` })),
          )
            .onConflict((oc) => oc.column("sku").doUpdateSet((eb) => ({ title: eb.ref("excluded.title") })))
            .execute();
        });
        const stored = await database.db
          .selectFrom("variants")
          .select(Object.keys(VARIANT_COLUMNS) as never[])
          .where("sku", "like", `R${round}-%`)
          .execute();
        const bySku = new Map(stored.map((s) => [(s as { sku: string }).sku, s as Record<string, unknown>]));
        expect(bySku.size).toBe(full.length);
        for (const r of full) {
          const s = bySku.get(r.sku)!;
          for (const k of Object.keys(VARIANT_COLUMNS)) {
            const want = k === "title" ? `again ${r.title ?? ""}` : (r as Record<string, unknown>)[k];
            const got = s[k];
            if (typeof want === "number") expect(Number(got)).toBe(want);
            else expect(got).toEqual(want);
          }
        }
      }),
      { seed, numRuns: 25 },
    );
  });
});
