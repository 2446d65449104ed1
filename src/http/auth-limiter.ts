/**
 * Failed API authentications per client address: after `max` failures inside `windowMs` the
 * address is refused (429) until the window has passed, so a key cannot be guessed at HTTP
 * speed. Successful requests are never counted. A pure structure over an injected clock.
 */
export interface AuthLimiterOptions {
  readonly max: number;
  readonly windowMs: number;
  /** Addresses remembered at most (oldest forgotten first), so the map cannot grow unbounded. */
  readonly maxAddresses?: number;
}

export class AuthFailureLimiter {
  private readonly failures = new Map<string, number[]>();
  constructor(private readonly options: AuthLimiterOptions) {}

  /** ms until the address may try again, or 0 when it may try now. */
  blockedFor(address: string, now: number): number {
    const recent = this.recent(address, now);
    if (recent.length < this.options.max) return 0;
    return recent[0]! + this.options.windowMs - now;
  }

  recordFailure(address: string, now: number): void {
    const recent = this.recent(address, now);
    recent.push(now);
    this.failures.delete(address);
    this.failures.set(address, recent);
    const cap = this.options.maxAddresses ?? 10_000;
    while (this.failures.size > cap) this.failures.delete(this.failures.keys().next().value!);
  }

  private recent(address: string, now: number): number[] {
    const list = (this.failures.get(address) ?? []).filter((t) => t > now - this.options.windowMs);
    if (list.length === 0) this.failures.delete(address);
    return list;
  }
}
