import { describe, expect, it } from "vitest";
import { daysUntilEndOfLife, endOfLife, endOfLifeWarning, SHOPIFY_API_VERSION } from "./api-version.ts";

describe("API version lifecycle", () => {
  it("ends 12 months after the release month", () => {
    expect(new Date(endOfLife("2026-10")).toISOString()).toBe("2027-10-01T00:00:00.000Z");
    expect(new Date(endOfLife("2027-01")).toISOString()).toBe("2028-01-01T00:00:00.000Z");
    expect(() => endOfLife("2026-11")).toThrow();
    expect(() => endOfLife(SHOPIFY_API_VERSION)).not.toThrow();
  });
  it("warns only within 90 days of the end, and louder after it", () => {
    const eol = endOfLife("2026-10");
    const day = 24 * 3600_000;
    expect(endOfLifeWarning("2026-10", eol - 91 * day)).toBeNull();
    expect(endOfLifeWarning("2026-10", eol - 90 * day)).toContain("in 90 days");
    expect(endOfLifeWarning("2026-10", eol + day)).toContain("reached its end of life");
    expect(daysUntilEndOfLife("2026-10", eol - 10 * day)).toBe(10);
  });
});
