import { WxOpenError } from '../errors.js';
import type { LockBackend } from './types.js';

export class LockTimeoutError extends WxOpenError {
  readonly code = 'WXO_ERR_LOCK_TIMEOUT';
  override readonly statusCode = 503;
}

export interface CoordinateOptions<T> {
  lock: LockBackend;
  key: string;
  /** Reads the shared store: a value here means nobody needs to call WeChat. */
  current(): Promise<T | undefined>;
  /** Calls WeChat and stores the result; runs only while the lease is held. */
  refresh(): Promise<T>;
  leaseMs: number;
  maxWaitMs: number;
  pollMs: number;
  sleep?: (ms: number) => Promise<void>;
}

const pending = new Map<string, Promise<unknown>>();

/**
 * Single-flight across callers and instances: one in-process promise per key (auth-app's
 * pendingPromises), and across processes a lease, re-checking the store after acquiring it so a
 * waiter reads the new value instead of calling WeChat again.
 */
export function coordinate<T>(o: CoordinateOptions<T>): Promise<T> {
  const existing = pending.get(o.key);
  if (existing) return existing as Promise<T>;
  const run = runCoordinated(o).finally(() => pending.delete(o.key));
  pending.set(o.key, run);
  return run;
}

async function runCoordinated<T>(o: CoordinateOptions<T>): Promise<T> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = Date.now();
  for (;;) {
    const fresh = await o.current();
    if (fresh !== undefined) return fresh;
    const lease = await o.lock.tryAcquire(o.key, o.leaseMs);
    if (lease) {
      try {
        const again = await o.current();
        if (again !== undefined) return again;
        return await o.refresh();
      } finally {
        await lease.release();
      }
    }
    if (Date.now() - started > o.maxWaitMs) {
      throw new LockTimeoutError(`waited ${o.maxWaitMs} ms for another instance to refresh ${o.key}`);
    }
    await sleep(o.pollMs * (0.5 + Math.random()));
  }
}
