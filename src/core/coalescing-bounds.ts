/**
 * Bounds an operator may set for a store's longest coalescing window (ms): the store settings
 * (shops) validate them, the push (inventory) adapts its window within them.
 */
export const MIN_MAX_WINDOW_MS = 0;
export const MAX_MAX_WINDOW_MS = 60_000;
