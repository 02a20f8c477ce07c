/** A held lock. `release` is safe to call twice and never releases someone else's lease. */
export interface Lease {
  /**
   * Extends the lease to `ttlMs` from now; false when it is no longer ours (expired and taken, or its
   * PostgreSQL session died), after which `lost` is true.
   */
  renew(ttlMs: number): Promise<boolean>;
  /** True once the lease is known to be gone: another holder may be working. */
  readonly lost: boolean;
  release(): Promise<void>;
}

/**
 * Cross-instance mutual exclusion for token refreshes. Leases are short and renewed while the holder
 * works (`coordinate` does it), so a crashed holder blocks the others for at most one `ttlMs`;
 * `tryAcquire` never waits, so no connection is held while waiting.
 */
export interface LockBackend {
  readonly kind: 'memory' | 'redis' | 'postgres' | 'sqlite';
  tryAcquire(key: string, ttlMs: number): Promise<Lease | undefined>;
  /** Errors on connections no call is waiting on (PostgreSQL): reported instead of crashing. */
  onConnectionError?(listener: (err: Error) => void): void;
  close(): Promise<void>;
}
