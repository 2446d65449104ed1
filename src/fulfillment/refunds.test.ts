import { describe, expect, it } from "vitest";
import { fromRefundWebhook, needsReturnRead, planRestock, type ShopifyRefund } from "./refunds.ts";

const payload = (ret: unknown) => ({
  id: 7,
  admin_graphql_api_id: "gid://shopify/Refund/7",
  order_id: 3,
  created_at: "2026-11-28T10:00:00Z",
  return: ret,
  refund_line_items: [{ line_item_id: 11, quantity: 1, restock_type: "return", location_id: 5 }],
});

describe("a refund's return", () => {
  it("is read from the refunds/create payload (gid, numeric id, or none)", () => {
    const parse = (ret: unknown) => {
      const p = fromRefundWebhook(payload(ret));
      if (!p.ok) throw new Error(p.reason);
      return p.refund.returnGid;
    };
    expect(parse({ id: 9, admin_graphql_api_id: "gid://shopify/Return/9" })).toBe("gid://shopify/Return/9");
    expect(parse({ id: 9 })).toBe("gid://shopify/Return/9");
    expect(parse(null)).toBeNull();
    // Shopify's REST Refund resource has no `return`: unknown, to be read from Shopify.
    expect(parse(undefined)).toBeUndefined();
  });

  it("is read from Shopify only when the payload does not say and units are taken back", () => {
    const refund = (returnGid: string | null | undefined, restockType: string): ShopifyRefund => ({
      gid: "gid://shopify/Refund/7",
      orderGid: "gid://shopify/Order/3",
      createdAt: 0,
      returnGid,
      lines: [{ lineGid: "L", sku: "a", quantity: 1, restockType, locationGid: null }],
    });
    expect(needsReturnRead(refund(undefined, "RETURN"))).toBe(true);
    expect(needsReturnRead(refund(undefined, "LEGACY_RESTOCK"))).toBe(true);
    expect(needsReturnRead(refund(undefined, "NO_RESTOCK"))).toBe(false);
    expect(needsReturnRead(refund(undefined, "CANCEL"))).toBe(false);
    expect(needsReturnRead(refund(null, "RETURN"))).toBe(false);
    expect(needsReturnRead(refund("gid://shopify/Return/9", "RETURN"))).toBe(false);
  });

  it("leaves the units to the return's receipt: nothing restocked in the ledger, Shopify's restock still followed", () => {
    const refund = (returnGid: string | null): ShopifyRefund => ({
      gid: "gid://shopify/Refund/7",
      orderGid: "gid://shopify/Order/3",
      createdAt: 0,
      returnGid,
      lines: [
        {
          lineGid: "L",
          sku: "a",
          quantity: 1,
          restockType: "RETURN",
          locationGid: "gid://shopify/Location/5",
        },
      ],
    });
    // Two units left through the hub, one of them under a return.
    const shipped = new Map([["L", 2]]);
    const underReturn = new Map([["L", 1]]);
    expect(planRestock(refund("gid://shopify/Return/9"), "order_warehouse", shipped, underReturn)).toEqual([
      expect.objectContaining({ restocked: 0, shopifyRestocked: 1 }),
    ]);
    // Not made for a return: the other unit comes back by the store's rule.
    expect(planRestock(refund(null), "order_warehouse", shipped, underReturn)).toEqual([
      expect.objectContaining({ restocked: 1, shopifyRestocked: 1 }),
    ]);
  });
});
