// Bulk query concurrency as Shopify documents it from 2026-01 ("you can run up to five bulk query
// operations at a time per shop", bulk operations guide, Limitations), counted per app, and the
// `bulkOperations` query that replaces the deprecated `currentBulkOperation` ("Use `bulkOperations`
// with status filter instead", the 2026-10 schema's deprecation reason).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "./index.ts";
import { MAX_CONCURRENT_BULK } from "./resolvers/bulk.ts";
import { gql, type Seeded, SHOP, seedShop } from "./test-helpers.ts";

const RUN = `mutation($q: String!) { bulkOperationRunQuery(query: $q, groupObjects: false) { bulkOperation { id status } userErrors { field message code } } }`;
const LIST = `query($q: String, $reverse: Boolean) { bulkOperations(first: 20, query: $q, reverse: $reverse) { nodes { id status } } }`;
const INNER = `{ products { edges { node { id } } } }`;

describe("bulk query operations at a time", () => {
  let emu: Emulator;
  let s: Seeded;
  let otherToken: string;
  beforeAll(async () => {
    emu = await startEmulator();
    s = seedShop(emu);
    const other = emu.control.createApp({ name: "Another app", scopes: ["read_products"] });
    otherToken = emu.control.mintToken({ shop: SHOP, clientId: other.clientId }).accessToken;
  });
  afterAll(async () => emu?.close());

  const run = async (token = s.token) =>
    (await gql(emu, token, RUN, { q: INNER })).body.data.bulkOperationRunQuery;
  const list = async (q?: string, reverse?: boolean) =>
    (await gql(emu, s.token, LIST, { q, reverse })).body.data.bulkOperations.nodes as {
      id: string;
      status: string;
    }[];

  it("five run at once; the sixth is refused with LIMIT_REACHED until one ends; other apps have their own five", async () => {
    expect(MAX_CONCURRENT_BULK).toBe(5);
    emu.control.holdBulkOperations(SHOP, true);
    const started: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await run();
      expect(r.userErrors).toEqual([]);
      started.push(r.bulkOperation.id);
    }
    const sixth = await run();
    expect(sixth.bulkOperation).toBeNull();
    expect(sixth.userErrors).toEqual([
      {
        field: null,
        code: "LIMIT_REACHED",
        message: expect.stringMatching(/^Bulk operations limit reached\. Please try again later\./),
      },
    ]);
    // Another app's operations are not this app's.
    const foreign = await run(otherToken);
    expect(foreign.userErrors).toEqual([]);

    // bulkOperations with a status filter finds the five running (newest first), not the other app's.
    expect((await list("status:created")).map((b) => b.id)).toEqual([...started].reverse());
    expect((await list("status:created", true)).map((b) => b.id)).toEqual(started);

    emu.control.holdBulkOperations(SHOP, false);
    for (;;) {
      if ((await list("status:created OR status:running")).length === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // All five ended (the emulator keeps the newest results only; older ones are EXPIRED).
    const ended = (await list()).filter((b) => started.includes(b.id));
    expect(ended.map((b) => b.id)).toEqual([...started].reverse());
    expect(ended.every((b) => b.status === "COMPLETED" || b.status === "EXPIRED")).toBe(true);
    expect((await list("status:completed")).length).toBeGreaterThan(0);
    expect(await list("status:failed")).toEqual([]);
    expect((await list(`id:>=${started[3]!.split("/").pop()}`)).map((b) => b.id)).toEqual([
      started[4],
      started[3],
    ]);
    const again = await run();
    expect(again.userErrors).toEqual([]);
  });

  it("refuses a search field bulkOperations does not have", async () => {
    const r = await gql(emu, s.token, LIST, { q: "title:x" });
    expect(r.body.errors?.[0]?.message).toMatch(/search field 'title'/);
  });

  it("currentBulkOperation still answers, marked deprecated; MUTATION: none has run", async () => {
    const latest = (await list())[0]!;
    const r = await gql(
      emu,
      s.token,
      `{ q: currentBulkOperation { id } m: currentBulkOperation(type: MUTATION) { id } }`,
    );
    expect(r.body.data).toEqual({ q: { id: latest.id }, m: null });
  });
});
