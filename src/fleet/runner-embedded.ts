import PQueue from 'p-queue';
import type { WorkItem, WorkQueue } from './work-queue.js';

/** Without Redis: the steps run in this process, `concurrency` merchants at a time per job. */
export class EmbeddedQueue implements WorkQueue {
  readonly kind = 'embedded' as const;
  private run: ((item: WorkItem) => Promise<void>) | undefined;
  private readonly queues = new Map<string, PQueue>();
  /** Row version queued or running per merchant: a newer version (the next step) may queue behind it. */
  private readonly inFlight = new Map<string, number>();

  async start(run: (item: WorkItem) => Promise<void>): Promise<void> {
    this.run = run;
  }

  has(item: WorkItem): boolean {
    const v = this.inFlight.get(`${item.jobId}|${item.appid}`);
    return v !== undefined && v >= item.version;
  }

  async add(item: WorkItem, concurrency: number): Promise<void> {
    const run = this.run;
    if (!run) return;
    const key = `${item.jobId}|${item.appid}`;
    // Dropping a newer version here (the step that follows the one still finishing) would leave the
    // merchant to the next scan, and a scan page full of older rows starves it: stages stop overlapping.
    const seen = this.inFlight.get(key);
    if (seen !== undefined && seen >= item.version) return;
    this.inFlight.set(key, item.version);
    let q = this.queues.get(item.jobId);
    if (!q) {
      q = new PQueue({ concurrency });
      this.queues.set(item.jobId, q);
    }
    void q.add(
      async () => {
        try {
          await run(item);
        } finally {
          if (this.inFlight.get(key) === item.version) this.inFlight.delete(key);
        }
      },
      { priority: item.rank },
    );
  }

  async pending(): Promise<number> {
    return this.inFlight.size;
  }

  async close(): Promise<void> {
    this.run = undefined;
    for (const q of this.queues.values()) q.clear();
    await Promise.all([...this.queues.values()].map((q) => q.onIdle()));
    this.queues.clear();
  }
}
