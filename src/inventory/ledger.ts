/**
 * The stock ledger's arithmetic, as plain functions.
 *
 * On hand at any moment = the latest `count` up to that moment + every non-count entry that
 * occurred after that count. Entries are ordered by when they occurred, not when they arrived:
 * offline tills upload sales hours late, and a late sale that happened before a stock-take is
 * already reflected in that count, so it must not lower stock a second time.
 *
 * Order of two entries: occurred_at; at the same instant deltas come before counts (a count
 * taken at 12:00 includes what happened at 12:00); then recording order (`seq`).
 */

export type EntryKind = "delta" | "count";

export interface Entry {
  readonly kind: EntryKind;
  /** Signed change for a delta; the counted quantity for a count. */
  readonly quantity: number;
  readonly occurredAt: number;
  /** Recording order (the movement's id); breaks ties between counts at the same instant. */
  readonly seq: number;
}

export interface CountMark {
  readonly at: number;
  readonly seq: number;
}

export interface LevelState {
  readonly onHand: number;
  /** The count on hand is based on; null until the first count. */
  readonly lastCount: CountMark | null;
}

export const EMPTY_LEVEL: LevelState = Object.freeze({ onHand: 0, lastCount: null });

const kindRank = (kind: EntryKind) => (kind === "delta" ? 0 : 1);

export function compareEntries(a: Entry, b: Entry): number {
  return a.occurredAt - b.occurredAt || kindRank(a.kind) - kindRank(b.kind) || a.seq - b.seq;
}

/** Whether `entry` comes after the count `mark` in ledger order. */
export function isAfterCount(entry: Entry, mark: CountMark | null): boolean {
  if (mark === null) return true;
  return compareEntries(entry, { kind: "count", quantity: 0, occurredAt: mark.at, seq: mark.seq }) > 0;
}

/** The definition: replay every entry in ledger order. Used as the oracle in tests. */
export function replay(entries: readonly Entry[]): LevelState {
  let state: LevelState = EMPTY_LEVEL;
  for (const e of [...entries].sort(compareEntries)) {
    state =
      e.kind === "count"
        ? { onHand: e.quantity, lastCount: { at: e.occurredAt, seq: e.seq } }
        : { onHand: state.onHand + e.quantity, lastCount: state.lastCount };
  }
  return state;
}

/**
 * Applies newly recorded entries to a level without replaying its history.
 *
 * `recordedDeltasAfter(at)` must return the sum of already-recorded delta quantities that
 * occurred strictly after `at`; it is only called when a new count supersedes the level's
 * current one (the store answers it with one indexed query).
 */
export function applyEntries(
  state: LevelState,
  incoming: readonly Entry[],
  recordedDeltasAfter: (at: number) => number,
): LevelState {
  let newest: Entry | undefined;
  for (const e of incoming) {
    if (
      e.kind === "count" &&
      isAfterCount(e, state.lastCount) &&
      (!newest || compareEntries(e, newest) > 0)
    ) {
      newest = e;
    }
  }
  if (newest === undefined) {
    let onHand = state.onHand;
    for (const e of incoming)
      if (e.kind === "delta" && isAfterCount(e, state.lastCount)) onHand += e.quantity;
    return { onHand, lastCount: state.lastCount };
  }
  const mark = { at: newest.occurredAt, seq: newest.seq };
  // Recorded entries all have a lower seq than the new count, so "after" means strictly later in time.
  let onHand = newest.quantity + recordedDeltasAfter(mark.at);
  for (const e of incoming) if (e.kind === "delta" && isAfterCount(e, mark)) onHand += e.quantity;
  return { onHand, lastCount: mark };
}

export interface Availability {
  readonly onHand: number;
  readonly reserved: number;
  readonly safetyStock: number;
}

/** What may be sold: never negative, whatever the back office recorded. */
export function sellable({ onHand, reserved, safetyStock }: Availability): number {
  return Math.max(0, onHand - reserved - safetyStock);
}
