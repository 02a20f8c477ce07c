import type { Logger } from '../util/logger.js';
import type { Store } from './types.js';
import { databaseUnavailable, storeName, type DatabaseUnavailableError } from './unavailable.js';

/** How often a store that is down is pinged to notice it is back (only while it is down). */
export const OUTAGE_PROBE_MS = 2_000;

/**
 * A database outage, reported once when it starts and once when it ends. Every request, the fleet scan (every
 * 2 s) and the refresher meet the same outage: one line each per attempt flooded the log with the same words.
 * One per store (see `databaseOutage`), so the operator listener, the server and the fleet share it.
 */
export class DatabaseOutage {
  private down: { since: number; timer: ReturnType<typeof setTimeout> | undefined } | undefined;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly probeMs = OUTAGE_PROBE_MS,
  ) {}

  get isDown(): boolean {
    return this.down !== undefined;
  }

  /** The DatabaseUnavailableError `err` is, noted (logged if it starts an outage); undefined for any other error. */
  failed(err: unknown): DatabaseUnavailableError | undefined {
    const unavailable = databaseUnavailable(err, this.store);
    if (!unavailable) return undefined;
    if (!this.down) {
      this.logger.warn({ code: unavailable.code, database: storeName(this.store), error: unavailable.detail }, 'database unreachable; requests answer 503 until it is back');
      this.down = { since: Date.now(), timer: undefined };
      this.probe();
    }
    return unavailable;
  }

  /** Stops probing (the store is closing). */
  stop(): void {
    if (this.down?.timer) clearTimeout(this.down.timer);
    this.down = undefined;
  }

  private probe(): void {
    const down = this.down;
    if (!down) return;
    // Unref'd: an outage must not keep a process that is otherwise done alive.
    down.timer = setTimeout(() => {
      void this.store.ping().then((ok) => {
        if (this.down !== down) return;
        if (!ok) return this.probe();
        this.down = undefined;
        this.logger.info({ database: storeName(this.store), downMs: Date.now() - down.since }, 'database reachable again');
      });
    }, this.probeMs);
    down.timer.unref?.();
  }
}

const outages = new WeakMap<Store, DatabaseOutage>();

/** The store's outage tracker, created with `logger` by whoever asks first. */
export function databaseOutage(store: Store, logger: Logger): DatabaseOutage {
  let o = outages.get(store);
  if (!o) {
    o = new DatabaseOutage(store, logger);
    outages.set(store, o);
  }
  return o;
}
