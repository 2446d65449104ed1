// Holding the start of a shop's new bulk operations (control API, for tests): held, they stay
// CREATED and count against the app's concurrency limit, so a test can fill it. Its own module:
// control.ts importing resolvers/bulk.ts would close an import cycle through resolvers/index.ts.
import type { Shop } from "./state.ts";

const held = new WeakMap<Shop, (() => void)[]>();

/** The starts waiting while the shop is held (push onto it), or undefined when not held. */
export function heldBulkStarts(shop: Shop): (() => void)[] | undefined {
  return held.get(shop);
}

/** Holds (true) or releases (false) the start of a shop's new bulk operations. */
export function holdBulkOperations(shop: Shop, hold: boolean): void {
  const waiting = held.get(shop);
  if (hold) {
    if (!waiting) held.set(shop, []);
    return;
  }
  held.delete(shop);
  for (const start of waiting ?? []) setImmediate(start);
}
