import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyEntries, EMPTY_LEVEL, type Entry, type LevelState, replay, sellable } from "./ledger.ts";

const HOUR = 3_600_000;

/** Entries with distinct seqs, as the store assigns them (movement ids). */
const entriesArb = fc
  .array(
    fc.record({
      kind: fc.constantFrom<"delta" | "count">("delta", "delta", "delta", "count"),
      quantity: fc.integer({ min: -50, max: 50 }),
      // Few distinct instants, so ties between deltas and counts are common.
      occurredAt: fc.integer({ min: 0, max: 12 }).map((h) => h * HOUR),
    }),
    { maxLength: 40 },
  )
  .map((raw) =>
    raw.map(
      (e, i): Entry => ({
        ...e,
        quantity: e.kind === "count" ? Math.abs(e.quantity) : e.quantity,
        seq: i + 1,
      }),
    ),
  );

/** Feeds entries in recording order, in batches, the way the store does. */
function incremental(entries: readonly Entry[], batchSizes: readonly number[]): LevelState {
  let state = EMPTY_LEVEL;
  const recorded: Entry[] = [];
  let i = 0;
  let b = 0;
  while (i < entries.length) {
    const size = Math.max(1, batchSizes[b++ % Math.max(1, batchSizes.length)] ?? 1);
    const batch = entries.slice(i, i + size);
    state = applyEntries(state, batch, (at) =>
      recorded.filter((e) => e.kind === "delta" && e.occurredAt > at).reduce((s, e) => s + e.quantity, 0),
    );
    recorded.push(...batch);
    i += size;
  }
  return state;
}

describe("ledger", () => {
  it("incremental application equals a naive replay, whatever the arrival order and batching", () => {
    fc.assert(
      fc.property(
        entriesArb,
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 5 }),
        (entries, sizes) => {
          expect(incremental(entries, sizes)).toEqual(replay(entries));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("a late sale that occurred before a later stock-take does not lower stock twice", () => {
    const count: Entry = { kind: "count", quantity: 10, occurredAt: 12 * HOUR, seq: 1 };
    const lateSale: Entry = { kind: "delta", quantity: -3, occurredAt: 9 * HOUR, seq: 2 };
    const afterCount: Entry = { kind: "delta", quantity: -2, occurredAt: 13 * HOUR, seq: 3 };
    const state = incremental([count, lateSale, afterCount], [1]);
    expect(state.onHand).toBe(8);
  });

  it("a count uploaded late keeps the movements that occurred after it", () => {
    const sale: Entry = { kind: "delta", quantity: -4, occurredAt: 14 * HOUR, seq: 1 };
    const lateCount: Entry = { kind: "count", quantity: 20, occurredAt: 10 * HOUR, seq: 2 };
    expect(incremental([sale, lateCount], [1]).onHand).toBe(16);
  });

  it("a count includes the deltas of its own instant; of two counts at one instant the later recorded wins", () => {
    const t = 5 * HOUR;
    const entries: Entry[] = [
      { kind: "count", quantity: 7, occurredAt: t, seq: 1 },
      { kind: "delta", quantity: 5, occurredAt: t, seq: 2 },
      { kind: "count", quantity: 9, occurredAt: t, seq: 3 },
    ];
    expect(replay(entries).onHand).toBe(9);
    expect(incremental(entries, [1]).onHand).toBe(9);
  });

  it("sellable is on hand less reserved and safety stock, never negative", () => {
    expect(sellable({ onHand: 10, reserved: 3, safetyStock: 2 })).toBe(5);
    expect(sellable({ onHand: 1, reserved: 3, safetyStock: 2 })).toBe(0);
    fc.assert(
      fc.property(fc.integer(), fc.nat(), fc.nat(), (onHand, reserved, safetyStock) => {
        const s = sellable({ onHand, reserved, safetyStock });
        return s >= 0 && s <= Math.max(0, onHand);
      }),
    );
  });
});
