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

  iso(): string {
    return new Date(this.now()).toISOString();
  }
}
