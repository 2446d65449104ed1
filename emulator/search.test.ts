import { describe, expect, it } from "vitest";
import { matches, parseSearch } from "./search.ts";

describe("search syntax", () => {
  it("parses field terms, comparisons and quotes", () => {
    expect(parseSearch("status:open updated_at:>'2026-01-02T00:00:00Z'")).toEqual([
      [
        { field: "status", op: ":", value: "open", negate: false },
        { field: "updated_at", op: ">", value: "2026-01-02T00:00:00Z", negate: false },
      ],
    ]);
  });

  it("matches dates as instants and values case-insensitively", () => {
    const q = parseSearch("financial_status:PAID updated_at:>=2026-01-01");
    expect(matches(q, { financial_status: "paid", updated_at: "2026-01-01T10:00:00Z" })).toBe(true);
    expect(matches(q, { financial_status: "paid", updated_at: "2025-12-31T10:00:00Z" })).toBe(false);
  });

  it("supports OR and negation", () => {
    const q = parseSearch("sku:A OR sku:B -status:cancelled");
    expect(matches(q, { sku: "A" })).toBe(true);
    expect(matches(q, { sku: "B", status: "cancelled" })).toBe(false);
    expect(matches(q, { sku: "B", status: "open" })).toBe(true);
    expect(matches(parseSearch("NOT status:cancelled"), { status: "cancelled" })).toBe(false);
  });

  it("refuses fields it does not know", () => {
    expect(() => matches(parseSearch("vendor:x"), {}, [], new Set(["sku"]))).toThrow(/not implemented/);
  });
});
