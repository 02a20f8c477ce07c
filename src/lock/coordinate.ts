import { WxOpenError } from '../errors.js';
import type { Lease, LockBackend } from './types.js';

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
  /** Lease length; the holder renews it every third of it while `refresh` runs. */
  leaseMs: number;
  /** How long a waiter waits for a live holder; never less than two leases, so a dead holder's lease runs out first. */
  maxWaitMs: number;
  pollMs: number;
  sleep?: (ms: number) => Promise<void>;
  /** The lease was lost while refreshing (session died, or not renewed in time): another instance may refresh too. */
  onLeaseLost?: (key: string) => void;
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
  const maxWaitMs = Math.max(o.maxWaitMs, 2 * o.leaseMs + 1000);
  for (;;) {
    const fresh = await o.current();
    if (fresh !== undefined) return fresh;
    const lease = await o.lock.tryAcquire(o.key, o.leaseMs);
    if (lease) {
      const renewal = keepRenewed(lease, o);
      try {
        const again = await o.current();
        if (again !== undefined) return again;
        return await o.refresh();
      } finally {
        clearInterval(renewal);
        await lease.release().catch(() => undefined);
      }
    }
    if (Date.now() - started > maxWaitMs) {
      throw new LockTimeoutError(`waited ${maxWaitMs} ms for another instance to refresh ${o.key}`);
    }
    await sleep(o.pollMs * (0.5 + Math.random()));
  }
}

/**
 * Renews the lease every third of its length while the holder works, so a slow WeChat answer never
 * lets it lapse while a crashed holder's lease still ends within one `leaseMs`.
 */
function keepRenewed<T>(lease: Lease, o: CoordinateOptions<T>): NodeJS.Timeout {
  let reported = false;
  const timer = setInterval(() => {
    void lease.renew(o.leaseMs).then(
      (ok) => {
        if (!ok && !reported) {
          reported = true;
          o.onLeaseLost?.(o.key);
        }
      },
      () => undefined,
    );
  }, Math.max(10, Math.floor(o.leaseMs / 3)));
  timer.unref();
  return timer;
}
