import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import type { Lease, LockBackend } from './types.js';

/** One process only (the SQLite default): a map of keys to lease expiry. */
export class MemoryLockBackend implements LockBackend {
  readonly kind = 'memory';
  private readonly held = new Map<string, { expires: number; id: object }>();
  constructor(private readonly clock: Clock = systemClock) {}

  async tryAcquire(key: string, ttlMs: number): Promise<Lease | undefined> {
    const now = this.clock.now();
    const current = this.held.get(key);
    if (current && current.expires > now) return undefined;
    // Identity, not a counter: handles sharing one map (Object.create) must never mint equal ids.
    const id = {};
    this.held.set(key, { expires: now + ttlMs, id });
    const lease: Lease & { lost: boolean } = {
      lost: false,
      renew: async (ttl: number) => {
        const h = this.held.get(key);
        if (h?.id !== id || h.expires <= this.clock.now()) {
          lease.lost = true;
          return false;
        }
        h.expires = this.clock.now() + ttl;
        return true;
      },
      release: async () => {
        if (this.held.get(key)?.id === id) this.held.delete(key);
      },
    };
    return lease;
  }

  async close(): Promise<void> {
    this.held.clear();
  }
}
