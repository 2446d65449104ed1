/** Time is injected so decisions can be tested at fixed moments. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export function fixedClock(start: number): Clock & { advance(ms: number): void; set(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
    set(ms) {
      t = ms;
    },
  };
}

/**
 * Lets pending I/O (HTTP requests, webhooks) run. SQLite answers synchronously, so a long loop
 * of awaited queries never reaches the event loop's I/O phase on its own; background loops
 * call this between items so the API stays responsive while they work.
 */
export const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
