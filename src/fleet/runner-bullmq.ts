import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { redisClient, reportOutages } from '../util/redis-outage.js';
import type { WorkItem, WorkQueue } from './work-queue.js';

/** How long an added step is not added again by this instance's scanner. */
const RECENT_MS = 5_000;
/** close() waits this long for BullMQ to finish politely: with Redis down, its close never settles. */
const CLOSE_WAIT_MS = 2_000;

const idOf = (item: WorkItem) => `${item.jobId}__${item.appid}__${item.version}`;

/**
 * With WXOPEN_REDIS_URL: steps go through a BullMQ queue and every instance's Worker takes them. A job
 * id per (job, merchant, row version) lets several instances' scanners add the same step once.
 */
export class BullmqQueue implements WorkQueue {
  readonly kind = 'bullmq' as const;
  private readonly connection: Redis;
  private readonly queue: Queue;
  private worker: Worker | undefined;
  private workerConnection: Redis | undefined;
  /** Steps this instance added lately: its scanner need not add them again while they wait in Redis. */
  private readonly added = new Map<string, number>();

  constructor(
    redisUrl: string,
    private readonly o: { name: string; prefix: string; concurrency: number },
  ) {
    // Adding a step fails fast while Redis is down (the scan logs it and tries again at the next one): with
    // maxRetriesPerRequest: null, which only the worker's blocking commands need, an add waited forever and
    // so did shutdown, which waits for the scan.
    this.connection = redisClient(redisUrl, { maxRetriesPerRequest: 1 }).redis;
    this.queue = new Queue(o.name, { connection: this.connection, prefix: o.prefix });
    this.queue.on('error', () => undefined);
  }

  async start(run: (item: WorkItem) => Promise<void>): Promise<void> {
    this.workerConnection = this.connection.duplicate({ maxRetriesPerRequest: null });
    reportOutages(this.workerConnection);
    this.worker = new Worker<WorkItem>(this.o.name, async (job) => run(job.data), {
      connection: this.workerConnection,
      prefix: this.o.prefix,
      concurrency: this.o.concurrency,
      // A killed instance's steps go back to the queue within seconds (the row's own lease guards them).
      lockDuration: 10_000,
      stalledInterval: 5_000,
    });
    this.worker.on('error', () => undefined);
  }

  has(item: WorkItem): boolean {
    const at = this.added.get(idOf(item));
    return at !== undefined && Date.now() - at < RECENT_MS;
  }

  async add(item: WorkItem): Promise<void> {
    const id = idOf(item);
    const now = Date.now();
    if (this.added.size > 50_000) for (const [k, at] of this.added) if (now - at >= RECENT_MS) this.added.delete(k);
    this.added.set(id, now);
    await this.queue.add('step', item, {
      jobId: id,
      // BullMQ runs lower numbers first.
      priority: 4 - item.rank,
      removeOnComplete: true,
      removeOnFail: true,
    });
  }

  async pending(): Promise<number> {
    return this.queue.count();
  }

  async close(): Promise<void> {
    const polite = Promise.all([this.worker?.close(), this.queue.close()]).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([polite, new Promise<void>((res) => (timer = setTimeout(res, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
    // A step still running keeps its row lease; once that lapses any instance takes the step again.
    this.workerConnection?.disconnect();
    this.connection.disconnect();
  }
}
