/**
 * The emulator's custom ids and unique metafield values (issue 16), which it looks up through an
 * index kept by every write of a product's metafields (emulator/metafield-index.ts): a product is
 * found by its custom id; another product may not take a value held; a value released (changed,
 * or its product deleted) may be taken again.
 */
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { CUSTOM_ID } from "../src/catalog/publish/desired.ts";
import { ensureCustomIdDefinition, sendProductSet } from "../src/catalog/publish/shopify-publish.ts";
import { systemClock } from "../src/core/clock.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import type { AdminTransport } from "../src/shopify/transport.ts";
import { emulatedStore } from "./support/shopify.ts";

let emulator: Emulator;
let transport: AdminTransport;
beforeAll(async () => {
  emulator = await startEmulator();
  const store = await emulatedStore({ emulator, domain: "unique-values.myshopify.com", skus: [] });
  transport = createAdminTransport({
    store: store.domain,
    urlTemplate: `${emulator.url}/{shop}`,
    getAccessToken: async () => store.token,
    clock: systemClock,
    logger: pino({ level: "silent" }),
  });
  await ensureCustomIdDefinition(transport);
});
afterAll(async () => emulator?.close());

const byKey = (value: string) => ({ customId: { ...CUSTOM_ID, value } });
const keyField = (value: string) => ({ ...CUSTOM_ID, type: "single_line_text_field", value });

describe("custom ids and unique values in the emulator", () => {
  it("finds by custom id, refuses a value held, frees a value changed or deleted", async () => {
    const a = await sendProductSet(transport, byKey("alpha"), { title: "Alpha" });
    expect(a.ok).toBe(true);
    const id = a.ok ? a.productId : "";
    // The same custom id again: the same product, updated.
    const again = await sendProductSet(transport, byKey("alpha"), { title: "Alpha 2" });
    expect(again.ok && again.productId).toBe(id);
    // Another product may not take the value.
    const taken = await sendProductSet(transport, byKey("beta"), {
      title: "Beta",
      metafields: [keyField("alpha")],
    });
    expect(taken.ok).toBe(false);
    expect(!taken.ok && taken.userErrors[0]?.message).toMatch(/already been taken/);
    // The first product's value changes: "alpha" is free, and "gamma" finds it.
    const moved = await sendProductSet(
      transport,
      { id },
      { title: "Alpha 3", metafields: [keyField("gamma")] },
    );
    expect(moved.ok).toBe(true);
    const gamma = await sendProductSet(transport, byKey("gamma"), { title: "Gamma" });
    expect(gamma.ok && gamma.productId).toBe(id);
    const alpha = await sendProductSet(transport, byKey("alpha"), { title: "New alpha" });
    expect(alpha.ok && alpha.productId).not.toBe(id);
    // Deleted: its value is free for a new product.
    const del = await transport.graphql<{ productDelete: { userErrors: unknown[] } }>(
      "mutation ($input: ProductDeleteInput!) { productDelete(input: $input) { userErrors { message } } }",
      { input: { id } },
    );
    expect(del.data.productDelete.userErrors).toEqual([]);
    const reborn = await sendProductSet(transport, byKey("gamma"), { title: "Gamma reborn" });
    expect(reborn.ok && reborn.productId).not.toBe(id);
    expect(
      emulator.control
        .listProducts("unique-values.myshopify.com")
        .map((p) => p.title)
        .sort(),
    ).toEqual(["Gamma reborn", "New alpha"]);
  });
});
