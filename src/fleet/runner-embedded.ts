import PQueue from 'p-queue';
import type { WorkItem, WorkQueue } from './work-queue.js';

/** Without Redis: the steps run in this process, `concurrency` merchants at a time per job. */
export class EmbeddedQueue implements WorkQueue {
  readonly kind = 'embedded' as const;
  private run: ((item: WorkItem) => Promise<void>) | undefined;
  private readonly queues = new Map<string, PQueue>();
  private readonly inFlight = new Set<string>();

  async start(run: (item: WorkItem) => Promise<void>): Promise<void> {
    this.run = run;
  }

  has(item: WorkItem): boolean {
    return this.inFlight.has(`${item.jobId}|${item.appid}`);
  }

  async add(item: WorkItem, concurrency: number): Promise<void> {
    const run = this.run;
    if (!run) return;
    const key = `${item.jobId}|${item.appid}`;
    if (this.inFlight.has(key)) return;
    this.inFlight.add(key);
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
          this.inFlight.delete(key);
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
