/**
 * The console's summary sentences add up (console/src/summaries.ts), whatever numbers the hub
 * answers, including stored results from before the hub's own summaries added up: the numbers
 * read back from each sentence are checked against each other.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { driftSentence, dryRunSentence, failuresSentence, linkSentence } from "../console/src/summaries.ts";

const numbers = (s: string) => [...s.matchAll(/\d+/g)].map((m) => Number(m[0]));
const any = fc.oneof(
  fc.integer({ min: -5, max: 50 }),
  fc.constant(Number.NaN),
  fc.double({ min: -3, max: 60 }),
);

describe("console summaries", () => {
  it("the drift check: compared = agree + differed, differed = corrected + left (the '18 checked, 0 drifted, 18 fixed' case too)", () => {
    expect(driftSentence({ checked: 18, drifted: 0, fixed: 18 })).toBe("18 compared, all agree");
    fc.assert(
      fc.property(any, any, any, (checked, drifted, fixed) => {
        const s = driftSentence({ checked, drifted, fixed });
        const n = numbers(s);
        if (s.endsWith("all agree")) expect(n).toHaveLength(1);
        else {
          const [c, agree, d, corrected, left] = n;
          expect(agree! + d!).toBe(c);
          expect(corrected! + left!).toBe(d);
          expect(d).toBeGreaterThan(0);
        }
      }),
    );
  });

  it("the dry run: compared = differ + agree, from the hub's count even when rows are omitted", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("delta" as const, "absolute" as const),
        any,
        fc.option(any, { nil: undefined }),
        any,
        fc.array(fc.integer({ min: -3, max: 3 }), { maxLength: 30 }),
        fc.nat(100),
        (mode, checked, differing, wouldChange, diffs, rowsOmitted) => {
          const s = dryRunSentence({
            mode,
            checked,
            differing,
            wouldChange,
            keptByDelta: differing ?? 0,
            rows: diffs.map((difference) => ({ difference })),
            rowsOmitted,
          });
          const [c, differ, agree] = numbers(s);
          expect(differ! + agree!).toBe(c);
          if (mode === "absolute" && differ! > 0) expect(s).toContain(`set all ${differ} to`);
          if (mode === "delta" && differ! > 0) expect(s).toContain(`at those ${differ} until`);
        },
      ),
    );
  });

  it("linking: linked = by SKU + by barcode", () => {
    fc.assert(
      fc.property(any, any, any, (bySku, byBarcode, problems) => {
        const [linked, sku, barcode] = numbers(linkSentence({ bySku, byBarcode, problems }));
        expect(sku! + barcode!).toBe(linked);
      }),
    );
  });

  it("failures: the total is the sum of the kinds listed, kinds without a label included", () => {
    const labels = { parked_order: { one: "order not imported", many: "orders not imported" } };
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom("parked_order", "dead_letter", "catalog_conflict"), any),
        (counts) => {
          const s = failuresSentence(counts, labels);
          if (s === "Nothing needs attention.") return;
          const [total, ...parts] = numbers(s);
          expect(parts.reduce((a, b) => a + b, 0)).toBe(total);
        },
      ),
    );
    expect(failuresSentence({ parked_order: 1, catalog_conflict: 2 }, labels)).toBe(
      "3 to look at: 1 order not imported, 2 catalog conflict.",
    );
  });
});
