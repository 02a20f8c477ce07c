import type { Store } from '../store/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

export interface RetentionOptions {
  store: Store;
  componentAppid: string;
  /** 0 keeps messages forever (the pruner does nothing). */
  retentionDays: number;
  clock: Clock;
  logger: Logger;
  /** Rows per DELETE; default 500, so no prune holds a long write lock. */
  batchSize?: number;
  /** Batches per run; default 200 (100k rows), the rest waits for the next run. */
  maxBatches?: number;
  /** Default 10 minutes. */
  intervalMs?: number;
}

/** Deletes messages older than the retention in the background, in bounded batches. */
export class MessageRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(private readonly o: RetentionOptions) {}

  start(): void {
    if (this.timer || this.o.retentionDays === 0) return;
    this.timer = setInterval(() => void this.runOnce().catch(() => undefined), this.o.intervalMs ?? 600_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One pruning pass now (the timer calls this); returns how many messages were deleted. */
  runOnce(): Promise<number> {
    this.running ??= this.prune().finally(() => (this.running = undefined));
    return this.running;
  }

  private async prune(): Promise<number> {
    const { store, componentAppid, retentionDays, clock, logger } = this.o;
    if (retentionDays === 0) return 0;
    const cutoff = clock.now() - retentionDays * 86_400_000;
    const batch = this.o.batchSize ?? 500;
    let total = 0;
    try {
      for (let i = 0; i < (this.o.maxBatches ?? 200); i++) {
        const n = await store.pruneMessages(componentAppid, cutoff, batch);
        total += n;
        if (n < batch) break;
        // Let pushes in between batches.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      logger.warn({ err, deleted: total }, 'message retention: pruning failed; retrying at the next run');
    }
    if (total > 0) logger.info({ deleted: total, retentionDays }, 'message retention: pruned old messages');
    return total;
  }
}
