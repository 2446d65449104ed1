import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { driftMessage, driftParts, dryRunMessage, dryRunParts } from "./summaries.ts";

/** Every number in a sentence, in order. */
const numbers = (s: string) => [...s.matchAll(/\d+/g)].map((m) => Number(m[0]));

describe("summaries whose parts add up", () => {
  it("the reported contradiction is shown as what can be true", () => {
    // Stored by an older version: "18 checked, 0 drifted, 18 fixed".
    const p = driftParts({ checked: 18, drifted: 0, fixed: 18 });
    expect(p).toEqual({ checked: 18, inSync: 18, drifted: 0, fixed: 0, remaining: 0 });
    expect(driftMessage("absolute", p)).toBe("Drift check: 18 checked, all 18 as the hub says");
  });

  it("drift: checked = inSync + drifted, drifted = fixed + remaining, and the sentence says so", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 10_000 }),
        fc.integer({ min: -5, max: 10_000 }),
        fc.integer({ min: -5, max: 10_000 }),
        fc.constantFrom("absolute" as const, "delta" as const),
        (checked, drifted, fixed, mode) => {
          const p = driftParts({ checked, drifted, fixed });
          for (const v of Object.values(p)) expect(v).toBeGreaterThanOrEqual(0);
          expect(p.inSync + p.drifted).toBe(p.checked);
          expect(p.fixed + p.remaining).toBe(p.drifted);
          const n = numbers(driftMessage(mode, p));
          if (p.drifted === 0) expect(n).toEqual([p.checked, p.inSync]);
          else if (mode === "absolute") {
            const [c, inSync, d, f, r] = n;
            expect(inSync! + d!).toBe(c);
            expect(f! + r!).toBe(d);
          } else expect(n[1]! + n[2]!).toBe(n[0]);
        },
      ),
    );
  });

  it("dry run: checked = inSync + differing; absolute changes the differing, delta keeps them", () => {
    fc.assert(
      fc.property(
        fc.nat(10_000),
        fc.nat(10_000),
        fc.nat(10_000),
        fc.constantFrom("absolute" as const, "delta" as const),
        (checked, differing, deltaSends, mode) => {
          const p = dryRunParts(mode, { checked, differing, deltaSends });
          expect(p.inSync + p.differing).toBe(p.checked);
          expect(p.wouldChange).toBeLessThanOrEqual(p.checked);
          if (mode === "absolute") expect([p.wouldChange, p.keptByDelta]).toEqual([p.differing, 0]);
          else expect(p.keptByDelta).toBe(p.differing);
          const [c, inSync, d] = numbers(dryRunMessage(mode, p));
          expect(inSync! + d!).toBe(c);
        },
      ),
    );
  });
});
