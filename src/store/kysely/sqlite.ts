import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { PushRecord, StoredTicket } from '../types.js';
import { KyselyStore } from './kysely-store.js';
import type { Database } from './schema.js';

export interface SqliteStoreOptions {
  /** File path, or `:memory:`. */
  path: string;
  /**
   * `full` (default) fsyncs every commit so a stored refresh token survives power loss, not only a
   * process crash; `normal` is crash-safe in WAL mode and faster.
   */
  synchronous?: 'full' | 'normal';
}

interface Pending {
  push: PushRecord;
  ticket: StoredTicket | undefined;
  resolve(outcome: 'stored' | 'duplicate'): void;
  reject(err: unknown): void;
}

/**
 * SQLite adds group commit to the push path: pushes arriving in the same event-loop turn are written
 * in one transaction (one fsync) with cached prepared statements, and each caller still gets its
 * answer only after its row is durable. Measured: Kysely re-prepares statements on every call, and
 * with synchronous=full each commit waits ~0.3 ms for the disk, so one commit per push capped the
 * receiver far below the network path. The SQL is the same as KyselyStore.recordPush.
 */
export class SqliteStore extends KyselyStore {
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private statements: { insertPush: BetterSqlite3.Statement; upsertTicket: BetterSqlite3.Statement } | undefined;

  constructor(
    db: Kysely<Database>,
    private readonly raw: BetterSqlite3.Database,
  ) {
    super(db, 'sqlite');
  }

  override recordPush(push: PushRecord, ticket?: StoredTicket): Promise<'stored' | 'duplicate'> {
    return new Promise((resolve, reject) => {
      this.queue.push({ push, ticket, resolve, reject });
      if (this.queue.length === 1) setImmediate(() => void this.flush());
    });
  }

  override async close(): Promise<void> {
    await this.flushing;
    await super.close();
  }

  private prepared() {
    this.statements ??= {
      insertPush: this.raw.prepare(
        `insert into push_events (component_appid, dedupe_key, info_type, authorizer_appid, create_time, received_at, payload)
         values (?, ?, ?, ?, ?, ?, ?) on conflict (component_appid, dedupe_key) do nothing`,
      ),
      upsertTicket: this.raw.prepare(
        `insert into component_tickets (component_appid, ticket, create_time, received_at) values (?, ?, ?, ?)
         on conflict (component_appid) do update set ticket = excluded.ticket, create_time = excluded.create_time,
         received_at = excluded.received_at where excluded.create_time >= component_tickets.create_time`,
      ),
    };
    return this.statements;
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    const run = this.db.connection().execute(async () => {
      // Holding Kysely's connection keeps its own transactions from interleaving with this one.
      const { insertPush, upsertTicket } = this.prepared();
      const write = this.raw.transaction((items: Pending[]) =>
        items.map(({ push: p, ticket: t }) => {
          const r = insertPush.run(p.componentAppid, p.dedupeKey, p.infoType, p.authorizerAppid, p.createTime, p.receivedAt, p.payload);
          if (r.changes === 0) return 'duplicate' as const;
          if (t) upsertTicket.run(t.componentAppid, t.ticket, t.createTime, t.receivedAt);
          return 'stored' as const;
        }),
      );
      return write(batch);
    });
    this.flushing = run.then(
      () => undefined,
      () => undefined,
    );
    try {
      const outcomes = await run;
      batch.forEach((item, i) => item.resolve(outcomes[i]!));
    } catch {
      // The batch rolled back as a whole: write each alone, so one failure cannot fail the others.
      for (const item of batch) super.recordPush(item.push, item.ticket).then(item.resolve, item.reject);
    }
  }
}

export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const database = new BetterSqlite3(options.path);
  database.pragma('journal_mode = WAL');
  database.pragma(`synchronous = ${options.synchronous ?? 'full'}`);
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  return new SqliteStore(new Kysely<Database>({ dialect: new SqliteDialect({ database }) }), database);
}
