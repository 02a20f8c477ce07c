/** One unit of work: run the next step of one merchant of one job. */
export interface WorkItem {
  jobId: string;
  appid: string;
  /** The row version seen when queued: a queue may drop a duplicate of the same version. */
  version: number;
  /** 1 commit · 2 submit or poll · 3 release: a merchant further along goes first, so the pipeline flows. */
  rank: number;
}

/**
 * Where steps wait to run: in this process (embedded) or on BullMQ across instances. Either way the
 * store row is the truth and every step claims it first, so a duplicate delivery is harmless.
 */
export interface WorkQueue {
  readonly kind: 'embedded' | 'bullmq';
  start(run: (item: WorkItem) => Promise<void>): Promise<void>;
  add(item: WorkItem, concurrency: number): Promise<void>;
  /** Items queued or running here (embedded) or waiting in the shared queue (BullMQ). */
  pending(): Promise<number>;
  has(item: WorkItem): boolean;
  close(): Promise<void>;
}
