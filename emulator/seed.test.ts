import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "./index.ts";
import { gql, SHOP, seedShop } from "./test-helpers.ts";

describe("seeding a large catalog", () => {
  let emu: Emulator;
  let token: string;
  beforeAll(async () => {
    emu = await startEmulator();
    token = seedShop(emu).token;
  });
  afterAll(async () => emu?.close());

  it("creates variants with SKUs, barcodes and levels at every location, readable through the API", async () => {
    const before = emu.control.webhookDeliveries({ shop: SHOP }).length;
    const seeded = emu.control.seedCatalog(SHOP, {
      variants: 2500,
      variantsPerProduct: 100,
      locations: 3,
      skuPrefix: "BIG-",
      barcodePrefix: "40",
      modulo: 7,
    });
    expect(seeded).toMatchObject({
      products: 25,
      variants: 2500,
      levels: 7500,
      firstSku: "BIG-0000000",
      lastSku: "BIG-0002499",
    });
    expect(seeded.locations).toHaveLength(3);
    // No webhook per created level.
    expect(emu.control.webhookDeliveries({ shop: SHOP })).toHaveLength(before);
    let levels = 0;
    let matching = 0;
    emu.control.eachInventoryLevel(SHOP, (l) => {
      if (!l.sku?.startsWith("BIG-")) return;
      levels++;
      const i = Number(l.sku.slice(4));
      const j = seeded.locations.indexOf(`gid://shopify/Location/${l.locationId}`);
      if (l.available === (i + j) % 7 && l.onHand === l.available) matching++;
    });
    expect(levels).toBe(7500);
    expect(matching).toBe(7500);
    const r = await gql(
      emu,
      token,
      `{ productVariants(first: 2, query: "sku:BIG-0001234") { nodes { sku barcode inventoryItem { id } } } }`,
    );
    expect(r.body.data.productVariants.nodes).toEqual([
      { sku: "BIG-0001234", barcode: "401234", inventoryItem: { id: expect.any(String) } },
    ]);
  });

  it("keeps the result files of the latest bulk operations only; older ones expire", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await gql(
        emu,
        token,
        `mutation { bulkOperationRunQuery(query: "{ products { edges { node { id } } } }") { bulkOperation { id } userErrors { message } } }`,
      );
      const id = r.body.data.bulkOperationRunQuery.bulkOperation.id as string;
      ids.push(id);
      for (let k = 0; k < 100; k++) {
        const s = await gql(emu, token, `query($id: ID!) { bulkOperation(id: $id) { status } }`, { id });
        if (s.body.data.bulkOperation.status !== "RUNNING" && s.body.data.bulkOperation.status !== "CREATED")
          break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    const statuses = [];
    for (const id of ids) {
      const s = await gql(emu, token, `query($id: ID!) { bulkOperation(id: $id) { status url } }`, { id });
      statuses.push(s.body.data.bulkOperation);
    }
    expect(statuses.map((s) => s.status)).toEqual(["EXPIRED", "COMPLETED", "COMPLETED", "COMPLETED"]);
    expect(statuses[0].url).toBeNull();
    expect((await fetch(statuses[3].url)).status).toBe(200);
  });

  it("is served by the control API", async () => {
    const res = await fetch(`${emu.url}/_emulator/shops/${SHOP}/seed`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ variants: 10, locations: 1, skuPrefix: "HTTP-", quantity: 4 }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ variants: 10, levels: 10, firstSku: "HTTP-0000000" });
  });
});
