/** A held lock. `release` is safe to call twice and never releases someone else's lease. */
export interface Lease {
  release(): Promise<void>;
}

/**
 * Cross-instance mutual exclusion for token refreshes. Leases expire (`ttlMs`) so a crashed holder
 * cannot block the others forever; `tryAcquire` never waits, so no connection is held while waiting.
 */
export interface LockBackend {
  readonly kind: 'memory' | 'redis' | 'postgres' | 'sqlite';
  tryAcquire(key: string, ttlMs: number): Promise<Lease | undefined>;
  close(): Promise<void>;
}
