import type { Clock } from './clock.js';

/**
 * A bounded set of recently seen keys, each remembered for `ttlMs`. Hand-written because it sits on the
 * message hot path and needs only insertion-ordered Map eviction (~20 lines), not a cache library.
 */
export class RecentKeys {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly ttlMs: number,
    private readonly maxKeys: number,
    private readonly clock: Clock,
  ) {}

  /** Returns true the first time a key is seen within its TTL, false for a repeat. */
  add(key: string): boolean {
    const now = this.clock.now();
    const expires = this.seen.get(key);
    if (expires !== undefined && expires > now) return false;
    this.seen.delete(key);
    this.seen.set(key, now + this.ttlMs);
    while (this.seen.size > this.maxKeys) {
      const oldest = this.seen.keys().next().value as string;
      this.seen.delete(oldest);
    }
    return true;
  }
}
