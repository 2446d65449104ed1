/** The emulator's clock: real time plus an offset the control API can advance, so expiry and refill are testable without sleeping. */
export class Clock {
  private offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error("advance: ms must be a non-negative number");
    this.offsetMs += ms;
  }
  iso(): string {
    return new Date(this.now()).toISOString();
  }
}
