import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { desiredOnHand, inTransit } from "./stock-model.ts";

describe("stock model", () => {
  it("sets on_hand so that Shopify's available, after its own commitments, is the hub's sellable", () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(100), (sellable, committed) => {
        const onHand = desiredOnHand({ sellable, committed });
        // Shopify: available = on_hand − committed, whenever its committed is the hub's.
        expect(onHand - committed).toBe(sellable);
      }),
    );
  });

  it("counts shipped units as committed until Shopify fulfils them, never more than the line still holds", () => {
    expect(inTransit({ shipped: 3, fulfilled: 0, fulfillable: 3 })).toBe(3);
    expect(inTransit({ shipped: 3, fulfilled: 2, fulfillable: 3 })).toBe(1);
    expect(inTransit({ shipped: 3, fulfilled: 3, fulfillable: 3 })).toBe(0);
    // cancelled order or removed line: Shopify holds nothing any more
    expect(inTransit({ shipped: 3, fulfilled: 0, fulfillable: 0 })).toBe(0);
    expect(inTransit({ shipped: 3, fulfilled: 0, fulfillable: 1 })).toBe(1);
  });
});
