import { describe, expect, it } from "vitest";
import { Clock, isoSeconds } from "./clock.ts";
import { inShopOffset } from "./rest-time.ts";

describe("the emulator's times are whole seconds, as Shopify writes them", () => {
  it("GraphQL DateTime: UTC without a fraction, rounded down", () => {
    expect(isoSeconds(Date.parse("2026-11-28T10:00:00.999Z"))).toBe("2026-11-28T10:00:00Z");
    const clock = new Clock();
    clock.freeze(true);
    clock.advance(1000 - (clock.now() % 1000) + 437);
    expect(clock.iso()).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(Date.parse(clock.iso())).toBe(clock.now() - 437);
  });

  it("REST: the shop's offset, the same second", () => {
    expect(inShopOffset("2026-11-28T11:03:36.750Z", "America/New_York")).toBe("2026-11-28T06:03:36-05:00");
    expect(Date.parse(inShopOffset("2026-11-28T11:03:36.750Z", "America/New_York"))).toBe(
      Date.parse(isoSeconds(Date.parse("2026-11-28T11:03:36.750Z"))),
    );
  });
});
