/**
 * The emulator's clock: real time plus an offset the control API can advance, so expiry and refill
 * are testable without sleeping. Frozen, it moves only when advanced (deterministic tests).
 */
export class Clock {
  private offsetMs = 0;
  private frozenAt: number | null = null;

  now(): number {
    return this.frozenAt ?? Date.now() + this.offsetMs;
  }

  private readonly listeners = new Set<() => void>();

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error("advance: ms must be a non-negative number");
    if (this.frozenAt !== null) this.frozenAt += ms;
    else this.offsetMs += ms;
    for (const l of this.listeners) l();
  }

  /** Called after every advance (work due by the emulator's clock, e.g. webhook retries, runs then). */
  onAdvance(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stop (true) or restart (false) the flow of real time; the current instant is kept either way. */
  freeze(frozen: boolean): void {
    if (frozen && this.frozenAt === null) this.frozenAt = this.now();
    if (!frozen && this.frozenAt !== null) {
      this.offsetMs = this.frozenAt - Date.now();
      this.frozenAt = null;
    }
  }

  get frozen(): boolean {
    return this.frozenAt !== null;
  }

  /** Now as Shopify writes a time: ISO 8601 in UTC, whole seconds ("2026-11-28T10:00:00Z"). */
  iso(): string {
    return isoSeconds(this.now());
  }
}

let lastSecond = Number.NaN;
let lastIso = "";

/**
 * An instant as Shopify's GraphQL Admin API writes a `DateTime`: UTC, whole seconds, no fraction
 * ("2019-09-07T15:50:00Z", the DateTime scalar's documented form). Shopify keeps no milliseconds,
 * so the emulator stores none either: a time read back and searched with `updated_at:>…` behaves
 * as on Shopify (two changes within one second share their time).
 */
export function isoSeconds(ms: number): string {
  // Thousands of times a second under load, nearly always within the same second as the last.
  const second = Math.floor(ms / 1000);
  if (second === lastSecond) return lastIso;
  lastSecond = second;
  lastIso = `${new Date(second * 1000).toISOString().slice(0, 19)}Z`;
  return lastIso;
}
