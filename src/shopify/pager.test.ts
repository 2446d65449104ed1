import { describe, expect, it } from "vitest";
import { allNodes, type Connection, pages } from "./pager.ts";

/** A connection of `n` numbers, `size` a page, cursors "c<index of the last node>". */
function connection(n: number, size: number) {
  const asked: (string | null)[] = [];
  const read = async (after: string | null): Promise<Connection<number>> => {
    asked.push(after);
    const start = after === null ? 0 : Number(after.slice(1)) + 1;
    const nodes = Array.from({ length: Math.max(0, Math.min(size, n - start)) }, (_, i) => start + i);
    const last = start + nodes.length - 1;
    return { nodes, pageInfo: { hasNextPage: last < n - 1, endCursor: nodes.length ? `c${last}` : null } };
  };
  return { read, asked };
}

describe("the Shopify pager", () => {
  it("reads every page once, in order, each after the previous page's cursor", async () => {
    const c = connection(7, 3);
    expect(await allNodes(c.read)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(c.asked).toEqual([null, "c2", "c5"]);
  });

  it("starts after a given cursor and stops at maxPages", async () => {
    const c = connection(10, 2);
    const seen: (readonly number[])[] = [];
    for await (const nodes of pages(c.read, { after: "c3", maxPages: 2 })) seen.push(nodes);
    expect(seen).toEqual([
      [4, 5],
      [6, 7],
    ]);
  });

  it("ends when the owner is gone or a page has no cursor to go on from", async () => {
    expect(await allNodes(async () => null)).toEqual([]);
    let calls = 0;
    const noCursor = async (): Promise<Connection<number>> => {
      calls++;
      return { nodes: [1], pageInfo: { hasNextPage: true, endCursor: null } };
    };
    expect(await allNodes(noCursor)).toEqual([1]);
    expect(calls).toBe(1);
  });
});
