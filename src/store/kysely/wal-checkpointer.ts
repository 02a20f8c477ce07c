import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL pages after which the committing connection checkpoints by itself, on the event loop: the backstop when
 * the worker falls behind or is gone (SQLite's default is 1000, which is the stall this class removes).
 */
export const CHECKPOINT_BACKSTOP_PAGES = 4000;
/** A checkpoint is asked for after this many group commits, or after the first commit this long after the last one. */
const EVERY_COMMITS = 64;
const EVERY_MS = 1000;

/**
 * The worker's code, as a string: it runs the same from src/ (under vitest, which a worker does not inherit)
 * and from dist/. A connection of its own, so SQLite lets it checkpoint while the group connection writes.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
parentPort.on('message', (m) => {
  if (m === 'close') { db.close(); parentPort.close(); return; }
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, log: r.log, checkpointed: r.checkpointed });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String(err && err.message || err) });
  }
});
`;

export interface CheckpointStats {
  /** Checkpoints the worker finished. */
  runs: number;
  /** At the last one: frames in the WAL, and how many of them are in the database file (SQLite's `log` and `checkpointed`). */
  walFrames: number;
  backfilled: number;
  /** Checkpoints that failed (e.g. SQLITE_BUSY); the next one or the backstop covers their pages. */
  failures: number;
  /** Whether the worker runs: false before the first checkpoint is asked for, and after it exited. */
  alive: boolean;
}

/**
 * Checkpoints a WAL database from a worker thread. Hand-written because SQLite runs a checkpoint inside the
 * commit that crosses `wal_autocheckpoint`, and better-sqlite3 is synchronous: every 1000 pages a group
 * commit copied them and fsynced the WAL and the database file on the event loop. Measured on the message
 * URL's write pattern: those commits were ~4% of all and took over half of the commit time, stalling every
 * push for milliseconds. A PASSIVE checkpoint in another connection runs beside the writer; durability does
 * not depend on it (each answered write's WAL frame is already fsynced).
 */
export class WalCheckpointer {
  /** Started at the first checkpoint asked for: a CLI command that writes a row or two never pays for a thread. */
  private worker: Worker | undefined;
  private exited: Promise<void> | undefined;
  private inflight = false;
  private commits = 0;
  private lastAsked = Date.now();
  private readonly stats: CheckpointStats = { runs: 0, walFrames: 0, backfilled: 0, failures: 0, alive: false };
  private closed = false;

  constructor(private readonly path: string) {}

  /** After each group commit: asks for a checkpoint when enough has been written since the last one. */
  committed(): void {
    this.commits++;
    if (this.inflight || this.closed || (this.worker && !this.stats.alive)) return;
    const now = Date.now();
    if (this.commits < EVERY_COMMITS && now - this.lastAsked < EVERY_MS) return;
    this.commits = 0;
    this.lastAsked = now;
    this.inflight = true;
    (this.worker ?? this.start()).postMessage('run');
  }

  get status(): Readonly<CheckpointStats> {
    return { ...this.stats };
  }

  /** Closes the worker's connection (before the store's own, so the last one to close removes the WAL). */
  async close(): Promise<void> {
    this.closed = true;
    if (!this.worker || !this.stats.alive) return;
    this.worker.postMessage('close');
    const worker = this.worker;
    const timer = setTimeout(() => void worker.terminate(), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  private start(): Worker {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER, { eval: true, workerData: { path: this.path, driver } });
    this.worker = worker;
    this.stats.alive = true;
    // Never keeps a process alive: a server closes its store, a script that forgets to still exits.
    worker.unref();
    worker.on('message', (m: { ok: boolean; log?: number; checkpointed?: number }) => {
      this.inflight = false;
      if (m.ok) {
        this.stats.runs++;
        this.stats.walFrames = m.log ?? 0;
        this.stats.backfilled = m.checkpointed ?? 0;
      } else this.stats.failures++;
    });
    // A failed worker leaves checkpoints to the backstop; it must not take the process down.
    worker.on('error', () => {
      this.stats.failures++;
    });
    this.exited = new Promise((res) =>
      worker.once('exit', () => {
        this.stats.alive = false;
        this.inflight = false;
        res();
      }),
    );
    return worker;
  }
}
