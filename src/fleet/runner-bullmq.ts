import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { WorkItem, WorkQueue } from './work-queue.js';

/**
 * With WXOPEN_REDIS_URL: steps go through a BullMQ queue and every instance's Worker takes them. A job
 * id per (job, merchant, row version) lets several instances' scanners add the same step once.
 */
export class BullmqQueue implements WorkQueue {
  readonly kind = 'bullmq' as const;
  private readonly connection: Redis;
  private readonly queue: Queue;
  private worker: Worker | undefined;

  constructor(
    redisUrl: string,
    private readonly o: { name: string; prefix: string; concurrency: number },
  ) {
    // BullMQ's blocking commands need maxRetriesPerRequest: null.
    this.connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    this.queue = new Queue(o.name, { connection: this.connection, prefix: o.prefix });
  }

  async start(run: (item: WorkItem) => Promise<void>): Promise<void> {
    this.worker = new Worker<WorkItem>(this.o.name, async (job) => run(job.data), {
      connection: this.connection.duplicate(),
      prefix: this.o.prefix,
      concurrency: this.o.concurrency,
    });
    this.worker.on('error', () => undefined);
  }

  has(): boolean {
    return false;
  }

  async add(item: WorkItem): Promise<void> {
    await this.queue.add('step', item, {
      jobId: `${item.jobId}__${item.appid}__${item.version}`,
      removeOnComplete: true,
      removeOnFail: true,
    });
  }

  async pending(): Promise<number> {
    return this.queue.count();
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    this.connection.disconnect();
  }
}
