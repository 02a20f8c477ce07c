import { closeSync, fsync, fsyncSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { unwrittenTicketOutcome, type ExchangeRecord, type MessageRecord, type PushRecord, type StoredTicket, type TicketOutcome } from '../types.js';
import { WxOpenError } from '../../errors.js';
import { KyselyStore } from './kysely-store.js';
import type { Database } from './schema.js';
import { CHECKPOINT_BACKSTOP_PAGES, WalCheckpointer, type CheckpointStats } from './wal-checkpointer.js';

export interface SqliteStoreOptions {
  /** File path, or `:memory:`. */
  path: string;
  /**
   * `full` (default) fsyncs every commit so a stored refresh token survives power loss, not only a
   * process crash; `normal` is crash-safe in WAL mode and faster.
   */
  synchronous?: 'full' | 'normal';
}

/** The database file was deleted or replaced under a running process: its writes would reach no file anyone reads. */
export class DatabaseDetachedError extends WxOpenError {
  readonly code = 'WXO_ERR_DATABASE_DETACHED';
}

type NewExchange = Omit<ExchangeRecord, 'attempts' | 'state' | 'lastError'>;
type ExchangeUpdate = { state: ExchangeRecord['state']; attempts: number; nextAttemptAt: number; lastError: string | null; at: number };
type Write =
  | { kind: 'push'; push: PushRecord }
  | { kind: 'ticket'; ticket: StoredTicket }
  | { kind: 'message'; message: MessageRecord }
  | { kind: 'exchange'; exchange: NewExchange }
  | { kind: 'exchangeUpdate'; componentAppid: string; codeKey: string; update: ExchangeUpdate };

interface Pending {
  write: Write;
  resolve(outcome: string): void;
  reject(err: unknown): void;
}

/**
 * SQLite adds group commit to the push path: pushes arriving in the same event-loop turn are written
 * in one transaction with cached prepared statements, and each caller still gets its answer only after
 * its row is durable. Measured: Kysely re-prepares statements on every call, and with synchronous=full
 * each commit waits ~0.3 ms for the disk, so one commit per push capped the receiver far below the
 * network path.
 *
 * The group commit itself runs at synchronous=normal and then fsyncs the WAL file on libuv's thread
 * pool before any caller is answered: the same guarantee as synchronous=full for every answered write,
 * but better-sqlite3 is synchronous, so a commit at `full` held the event loop for the whole disk wait
 * (with a busy disk, a third of the message URL's time in bench/push.ts profiles; with an idle one the
 * two measure the same). WAL at `normal` stays consistent after a
 * power loss; what it may lose is only what was never answered. Every other write (Kysely's, e.g. a
 * refresh token) keeps synchronous=full. The SQL is the same as KyselyStore's.
 *
 * Group commits use a connection of their own, opened at synchronous=normal: switching the one shared
 * connection to `normal` and back cost two pragma statements (each prepared anew, as SQLite applies a
 * pragma when it is prepared) per commit, about 3 µs of every stored message in bench/push.ts profiles.
 * Kysely's connection is still held during a group commit, so the two never write at the same time.
 */
export class SqliteStore extends KyselyStore {
  private queue: Pending[] = [];
  /** Group commits not yet answered (their fsync may still be running): close() waits for every one. */
  private readonly flushing = new Set<Promise<void>>();
  /** The batch transaction, built once with its statements (better-sqlite3 wraps the function anew on every `transaction` call). */
  private writeBatch: ((items: Pending[]) => string[]) | undefined;

  // Private (built by `createSqliteStore`) so the published declarations name no better-sqlite3
  // type: a consumer compiling with skipLibCheck: false needs no @types/better-sqlite3.
  /** The WAL file's descriptor, opened at the first group commit (file databases at synchronous=full only). */
  private walFd: number | undefined;
  private syncing: Promise<void> | undefined;
  private nextSync: Promise<void> | undefined;
  /** The file the connection opened (device and inode), for files only: see `detached()`. */
  private readonly opened: { path: string; dev: number; ino: number } | undefined;
  /** `detached()` as Kysely's queries last saw it, and when (see `queryGuard`). */
  private guarded: { at: number; gone: DatabaseDetachedError | undefined } = { at: 0, gone: undefined };

  private constructor(
    db: Kysely<Database>,
    private readonly raw: BetterSqlite3.Database,
    /** `<path>-wal` when group commits fsync the WAL themselves; undefined for `:memory:` or synchronous=normal. */
    private readonly walPath: string | undefined,
    /** The group commits' connection: a second one at synchronous=normal when `walPath` is set, else `raw`. */
    private readonly group: BetterSqlite3.Database,
    /** WAL checkpoints off the event loop (file databases in WAL mode). */
    private readonly checkpointer: WalCheckpointer | undefined,
  ) {
    const path = raw.memory ? undefined : resolve(raw.name);
    // Kysely's queries (reads, and writes other than group commits) check the file too: reading a deleted file's
    // inode showed the admin API and the dashboard as healthy while every push was refused.
    const guard: { store?: SqliteStore } = {};
    super(
      path === undefined
        ? db
        : db.withPlugin({
            transformQuery: (args) => {
              const gone = guard.store?.queryGuard();
              if (gone) throw gone;
              return args.node;
            },
            transformResult: async (args) => args.result,
          }),
      'sqlite',
      path,
    );
    guard.store = this;
    const st = path === undefined ? undefined : statSync(path, { throwIfNoEntry: false });
    this.opened = path !== undefined && st ? { path, dev: st.dev, ino: st.ino } : undefined;
  }

  /**
   * Why writes must stop, if the file this process opened is no longer the one at its path (deleted, moved or
   * replaced while the server runs): SQLite keeps writing to the open inode, so every write, an answered push
   * included, would be gone at the next start. One stat per group commit (not per write), so about 1 µs.
   */
  detached(): DatabaseDetachedError | undefined {
    if (!this.opened) return undefined;
    const st = statSync(this.opened.path, { throwIfNoEntry: false });
    if (st && st.ino === this.opened.ino && st.dev === this.opened.dev) return undefined;
    return new DatabaseDetachedError(
      `the database file ${this.opened.path} was ${st ? 'replaced' : 'deleted or moved'} while this process ran: writes are refused (they would be lost); restart the server`,
    );
  }

  /** `detached()` at most every 500 ms: a stat per query would cost the token service more than its reads. */
  private queryGuard(): DatabaseDetachedError | undefined {
    const now = performance.now();
    if (now - this.guarded.at >= 500) this.guarded = { at: now, gone: this.detached() };
    return this.guarded.gone;
  }

  override async ping(): Promise<boolean> {
    return this.detached() === undefined && super.ping();
  }

  override async probeWrite(at: number): Promise<boolean> {
    return this.detached() === undefined && super.probeWrite(at);
  }

  /** Opens (creating the directory) and tunes the database; the same as `createSqliteStore`. */
  static open(options: SqliteStoreOptions): SqliteStore {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    const database = new BetterSqlite3(options.path);
    database.pragma('journal_mode = WAL');
    database.pragma(`synchronous = ${options.synchronous ?? 'full'}`);
    database.pragma('busy_timeout = 5000');
    database.pragma('foreign_keys = ON');
    // Only in WAL mode (a file system without shared memory, e.g. some network mounts, silently stays in a
    // rollback journal): there the group commit stays at synchronous=full, on the event loop, as before.
    const wal = options.path !== ':memory:' && database.pragma('journal_mode', { simple: true }) === 'wal';
    const walPath = wal && options.synchronous !== 'normal' ? `${database.name}-wal` : undefined;
    let group = database;
    if (walPath !== undefined) {
      group = new BetterSqlite3(options.path);
      group.pragma('synchronous = normal');
      group.pragma('busy_timeout = 5000');
      group.pragma('foreign_keys = ON');
    }
    const checkpointer = wal ? new WalCheckpointer(database.name) : undefined;
    // The worker checkpoints; a commit does so itself only past the backstop (the setting is per connection).
    if (checkpointer) for (const c of new Set([database, group])) c.pragma(`wal_autocheckpoint = ${CHECKPOINT_BACKSTOP_PAGES}`);
    return new SqliteStore(new Kysely<Database>({ dialect: new SqliteDialect({ database }) }), database, walPath, group, checkpointer);
  }

  override recordPush(push: PushRecord): Promise<'stored' | 'duplicate'> {
    return this.enqueue({ kind: 'push', push }) as Promise<'stored' | 'duplicate'>;
  }

  /** Messages join the same group commit as pushes: the message URL is the busier of the two. */
  override recordMessage(message: MessageRecord): Promise<'stored' | 'duplicate'> {
    return this.enqueue({ kind: 'message', message }) as Promise<'stored' | 'duplicate'>;
  }

  override recordTicket(ticket: StoredTicket): Promise<TicketOutcome> {
    return this.enqueue({ kind: 'ticket', ticket }) as Promise<TicketOutcome>;
  }

  /**
   * Each authorized push records its code to exchange, and each failed attempt updates that row: both join
   * the group commit too, or every authorization event would cost a commit (an fsync) of its own.
   */
  override recordExchange(exchange: NewExchange): Promise<boolean> {
    return this.enqueue({ kind: 'exchange', exchange }).then((outcome) => outcome === 'stored');
  }

  override updateExchange(componentAppid: string, codeKey: string, update: ExchangeUpdate): Promise<void> {
    return this.enqueue({ kind: 'exchangeUpdate', componentAppid, codeKey, update }).then(() => undefined);
  }

  /** The checkpoint worker's counts (undefined for `:memory:` or a database not in WAL mode). */
  get checkpoints(): Readonly<CheckpointStats> | undefined {
    return this.checkpointer?.status;
  }

  override async close(): Promise<void> {
    while (this.flushing.size) await Promise.all(this.flushing);
    await this.checkpointer?.close();
    if (this.walFd !== undefined) closeSync(this.walFd);
    this.walFd = undefined;
    if (this.group !== this.raw) this.group.close();
    await super.close();
  }

  /** One write on its own (KyselyStore's), with the outcome the batch would have given. */
  private alone(w: Write): Promise<string> {
    switch (w.kind) {
      case 'push':
        return super.recordPush(w.push);
      case 'message':
        return super.recordMessage(w.message);
      case 'ticket':
        return super.recordTicket(w.ticket);
      case 'exchange':
        return super.recordExchange(w.exchange).then((inserted) => (inserted ? 'stored' : 'duplicate'));
      case 'exchangeUpdate':
        return super.updateExchange(w.componentAppid, w.codeKey, w.update).then(() => 'stored');
    }
  }

  private enqueue(write: Write): Promise<string> {
    return new Promise((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      if (this.queue.length === 1) setImmediate(() => void this.flush());
    });
  }

  private batchWriter(): (items: Pending[]) => string[] {
    if (this.writeBatch) return this.writeBatch;
    const raw = this.group;
    const statements = {
      insertPush: raw.prepare(
        `insert into push_events (component_appid, dedupe_key, info_type, authorizer_appid, create_time, received_at, payload)
         values (?, ?, ?, ?, ?, ?, ?) on conflict (component_appid, dedupe_key) do nothing`,
      ),
      insertMessage: raw.prepare(
        `insert into messages_log (component_appid, authorizer_appid, dedupe_key, type, from_user, create_time, received_at, payload)
         values (?, ?, ?, ?, ?, ?, ?, ?) on conflict (component_appid, dedupe_key) do nothing`,
      ),
      upsertTicket: raw.prepare(
        `insert into component_tickets (component_appid, ticket, create_time, received_at) values (?, ?, ?, ?)
         on conflict (component_appid) do update set ticket = excluded.ticket, create_time = excluded.create_time,
         received_at = excluded.received_at
         where excluded.create_time > component_tickets.create_time
            or (excluded.create_time = component_tickets.create_time and excluded.ticket <> component_tickets.ticket)`,
      ),
      ticketTime: raw.prepare<[string], { create_time: number }>(`select create_time from component_tickets where component_appid = ?`),
      insertExchange: raw.prepare(
        `insert into creds_exchanges (component_appid, code_key, code_enc, authorizer_appid, event_time, received_at, expires_at,
           attempts, next_attempt_at, state, last_error, updated_at)
         values (?, ?, ?, ?, ?, ?, ?, 0, ?, 'pending', null, ?) on conflict (component_appid, code_key) do nothing`,
      ),
      updateExchange: raw.prepare(
        `update creds_exchanges set state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ? where component_appid = ? and code_key = ?`,
      ),
    };
    const { insertPush, insertMessage, upsertTicket, ticketTime, insertExchange, updateExchange } = statements;
    const write = raw.transaction((items: Pending[]) =>
      items.map(({ write: w }) => {
        if (w.kind === 'push') {
          const p = w.push;
          return insertPush.run(p.componentAppid, p.dedupeKey, p.infoType, p.authorizerAppid, p.createTime, p.receivedAt, p.payload).changes === 0 ? 'duplicate' : 'stored';
        }
        if (w.kind === 'message') {
          const m = w.message;
          const changes = insertMessage.run(m.componentAppid, m.authorizerAppid, m.dedupeKey, m.type, m.fromUser, m.createTime, m.receivedAt, m.payload).changes;
          return changes === 0 ? 'duplicate' : 'stored';
        }
        if (w.kind === 'exchange') {
          const e = w.exchange;
          const changes = insertExchange.run(e.componentAppid, e.codeKey, e.codeEnc, e.authorizerAppid, e.eventTime, e.receivedAt, e.expiresAt, e.nextAttemptAt, e.receivedAt).changes;
          return changes === 0 ? 'duplicate' : 'stored';
        }
        if (w.kind === 'exchangeUpdate') {
          const u = w.update;
          updateExchange.run(u.state, u.attempts, u.nextAttemptAt, u.lastError, u.at, w.componentAppid, w.codeKey);
          return 'stored';
        }
        const t = w.ticket;
        if (upsertTicket.run(t.componentAppid, t.ticket, t.createTime, t.receivedAt).changes > 0) return 'stored';
        const stored = ticketTime.get(t.componentAppid);
        return unwrittenTicketOutcome(stored && Number(stored.create_time), t.createTime);
      }),
    );
    this.writeBatch = write;
    return write;
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    const gone = this.detached();
    if (gone) {
      for (const item of batch) item.reject(gone);
      return;
    }
    // Holding Kysely's connection keeps its own transactions from interleaving with this one.
    const run = this.db.connection().execute(async () => this.batchWriter()(batch));
    const durable = run.then((outcomes) => this.syncWal().then(() => outcomes));
    const settled = durable.then(
      () => undefined,
      () => undefined,
    );
    this.flushing.add(settled);
    void settled.then(() => this.flushing.delete(settled));
    let outcomes: string[];
    try {
      outcomes = await run;
      this.checkpointer?.committed();
    } catch {
      // The batch rolled back as a whole: write each alone (synchronous=full), so one failure cannot fail the others.
      for (const { write: w, resolve, reject } of batch) {
        this.alone(w).then(resolve, reject);
      }
      return;
    }
    try {
      await durable;
    } catch (err) {
      // Committed but not known to be on disk: no caller may be told it is stored.
      for (const item of batch) item.reject(err);
      return;
    }
    batch.forEach((item, i) => item.resolve(outcomes[i]!));
  }

  /**
   * fsync of the WAL off the event loop. One runs at a time: commits made while it runs share the next
   * one (they are not covered by the running one, which may have started before they were written).
   */
  private syncWal(): Promise<void> {
    if (this.walPath === undefined) return Promise.resolve();
    if (this.syncing === undefined) {
      this.syncing = this.fsyncWal().finally(() => {
        this.syncing = undefined;
      });
      return this.syncing;
    }
    this.nextSync ??= this.syncing
      .catch(() => undefined)
      .then(() => {
        this.nextSync = undefined;
        return this.syncWal();
      });
    return this.nextSync;
  }

  private fsyncWal(): Promise<void> {
    if (this.walFd === undefined) {
      // Read-write: Windows flushes a file only through a handle that may write (nothing is written here).
      this.walFd = openSync(this.walPath!, 'r+');
      // The WAL's name must survive a power loss too: its directory is synced once, when it is first used
      // (where the platform can: Windows opens no directory, and its file system keeps names itself).
      try {
        const dir = openSync(dirname(this.walPath!), 'r');
        try {
          fsyncSync(dir);
        } finally {
          closeSync(dir);
        }
      } catch {
        // Not possible on this platform: the file's own fsync below is all it offers.
      }
    }
    const fd = this.walFd;
    return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
  }
}

export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return SqliteStore.open(options);
}
