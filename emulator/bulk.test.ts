// Bulk operations over a store larger than one slice (resolvers/bulk.ts): every node exactly once
// with its parent, nested connections continued past their first page, and the emulator
// answering other requests while an operation runs.
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "./index.ts";
import { BULK_SLICE } from "./resolvers/bulk.ts";
import { gql, SHOP, seedShop } from "./test-helpers.ts";

const RUN = `mutation($q: String!) { bulkOperationRunQuery(query: $q, groupObjects: false) { bulkOperation { id } userErrors { message } } }`;
const STATUS = `query($id: ID!) { bulkOperation(id: $id) { status url objectCount rootObjectCount errorCode } }`;

describe("bulk operations in slices", () => {
  let emu: Emulator;
  let token: string;
  /** More variants than a continued page holds, so each location's levels take several slices. */
  const VARIANTS = BULK_SLICE.continued * 2 + 123;
  let locations: string[];

  beforeAll(async () => {
    emu = await startEmulator();
    token = seedShop(emu).token;
    locations = emu.control.seedCatalog(SHOP, {
      variants: VARIANTS,
      variantsPerProduct: 100,
      locations: 3,
      skuPrefix: "BLK-",
      modulo: 11,
    }).locations;
  });
  afterAll(async () => emu?.close());

  const start = async (query: string) => {
    const r = await gql(emu, token, RUN, { q: query });
    expect(r.body.data.bulkOperationRunQuery.userErrors).toEqual([]);
    return r.body.data.bulkOperationRunQuery.bulkOperation.id as string;
  };
  const finish = async (id: string) => {
    for (;;) {
      const s = (await gql(emu, token, STATUS, { id })).body.data.bulkOperation;
      if (s.status !== "CREATED" && s.status !== "RUNNING") return s;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const lines = async (url: string) =>
    (await (await fetch(url)).text())
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it("reads every level of every location once, under its location, past the first page", async () => {
    const id = await start(
      `{ locations { edges { node { id name inventoryLevels { edges { node { item { id sku } quantities(names: ["available", "on_hand"]) { name quantity } } } } } } } }`,
    );
    const done = await finish(id);
    expect(done.status).toBe("COMPLETED");
    const rows = await lines(done.url);
    const locationRows = rows.filter((r) => r["__parentId"] === undefined);
    expect(locationRows.map((r) => r["id"])).toEqual(expect.arrayContaining(locations));
    expect(done.rootObjectCount).toBe(String(locationRows.length));
    expect(done.objectCount).toBe(String(rows.length));
    const seen = new Map<string, number>();
    let correct = 0;
    for (const r of rows) {
      const parent = r["__parentId"] as string | undefined;
      if (parent === undefined || !locations.includes(parent)) continue;
      const item = r["item"] as { id: string; sku: string };
      if (!item.sku.startsWith("BLK-")) continue;
      const key = `${item.id}@${parent}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      const i = Number(item.sku.slice(4));
      const j = locations.indexOf(parent);
      const q = r["quantities"] as { name: string; quantity: number }[];
      if (q.every((x) => x.quantity === (i + j) % 11)) correct++;
      // No paging aliases of the emulator's slicing leak into the lines.
      expect(Object.keys(r).sort()).toEqual(["__parentId", "item", "quantities"]);
    }
    expect(seen.size).toBe(VARIANTS * 3);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(correct).toBe(VARIANTS * 3);
  });

  it("reads a flat connection larger than a root slice, each node once", async () => {
    const id = await start(`{ productVariants { edges { node { id sku inventoryItem { id } } } } }`);
    const done = await finish(id);
    const rows = await lines(done.url);
    const skus = rows.map((r) => r["sku"] as string).filter((s) => s?.startsWith("BLK-"));
    expect(skus).toHaveLength(VARIANTS);
    expect(new Set(skus).size).toBe(VARIANTS);
    expect(rows.every((r) => r["__parentId"] === undefined)).toBe(true);
  });

  it("answers other requests while an operation runs", async () => {
    const id = await start(
      `{ locations { edges { node { id inventoryLevels { edges { node { item { id } quantities(names: ["available"]) { name quantity } } } } } } } }`,
    );
    // Executed in one piece (as before), the operation ended before any other request was read.
    const shop = await gql(emu, token, `{ shop { name } }`);
    expect(shop.body.data.shop.name).toBeTruthy();
    const during = (await gql(emu, token, STATUS, { id })).body.data.bulkOperation;
    expect(["CREATED", "RUNNING"]).toContain(during.status);
    expect((await finish(id)).status).toBe("COMPLETED");
  });

  it("keeps result files on disk until the emulator closes, then deletes them", async () => {
    const other = await startEmulator();
    try {
      // A shop of its own: folders left by earlier runs may hold a file of the same name.
      const shop = `files-${Date.now()}-${Math.floor(Math.random() * 1e6)}.myshopify.com`;
      const t = seedShop(other, shop).token;
      const r = await gql(other, t, RUN, { q: `{ productVariants { edges { node { id sku } } } }` }, shop);
      const id = r.body.data.bulkOperationRunQuery.bulkOperation.id as string;
      let s: { status: string; url: string };
      for (;;) {
        s = (await gql(other, t, STATUS, { id }, shop)).body.data.bulkOperation;
        if (s.status === "COMPLETED") break;
        await new Promise((done) => setTimeout(done, 50));
      }
      const file = await fetch(s.url);
      expect(file.status).toBe(200);
      // Read to the end: an unread body keeps its connection, and close() waits for it.
      expect(await file.text()).toContain('"sku"');
      // The file of this operation, in this emulator's folder.
      const name = `${shop}-${id.split("/").pop()}.jsonl`;
      const folders = () =>
        readdirSync(tmpdir())
          .filter((d) => d.startsWith("tillbridge-emulator-bulk-"))
          .filter((d) => {
            try {
              return readdirSync(join(tmpdir(), d)).includes(name);
            } catch {
              return false; // another process's folder, deleted meanwhile
            }
          });
      expect(folders()).toHaveLength(1);
      await other.close();
      expect(folders()).toHaveLength(0);
    } finally {
      await other.close().catch(() => {});
    }
  });
});
