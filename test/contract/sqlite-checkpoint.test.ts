import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore, type SqliteStore } from '../../src/store/kysely/sqlite.js';
import { CHECKPOINT_BACKSTOP_PAGES } from '../../src/store/kysely/wal-checkpointer.js';
import type { PushRecord } from '../../src/store/types.js';

const C = 'wxcomponent';
const push = (i: number): PushRecord => ({
  componentAppid: C,
  dedupeKey: `${String(1_700_000_000 + i).padStart(12, '0')}:k${i}`,
  infoType: 'authorized',
  authorizerAppid: `wxa${i}`,
  createTime: 1_700_000_000 + i,
  receivedAt: 1_700_000_000_000 + i,
  payload: `<xml><n>${i}</n><pad>${'p'.repeat(900)}</pad></xml>`,
});

interface Inside {
  raw: { pragma(s: string, o: { simple: true }): unknown };
  group: { pragma(s: string, o: { simple: true }): unknown };
}
const inside = (s: SqliteStore) => s as unknown as Inside;

const until = async (what: () => boolean, ms = 10_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('SQLite WAL checkpoints run in a worker thread, not inside a group commit', () => {
  const stores: SqliteStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  });
  const open = () => {
    const path = join(mkdtempSync(join(tmpdir(), 'wxopen-ckpt-')), 'wx.db');
    const store = createSqliteStore({ path });
    stores.push(store);
    return { store, path };
  };

  it('copies the WAL into the database file from the worker; commits checkpoint only past the backstop; close removes the WAL', async () => {
    const { store, path } = open();
    await store.migrate();
    // Both connections: SQLite's default (1000 pages) would checkpoint inside a commit, on the event loop.
    expect(Number(inside(store).group.pragma('wal_autocheckpoint', { simple: true }))).toBe(CHECKPOINT_BACKSTOP_PAGES);
    expect(Number(inside(store).raw.pragma('wal_autocheckpoint', { simple: true }))).toBe(CHECKPOINT_BACKSTOP_PAGES);
    const before = statSync(path).size;
    // 100 group commits of 20 pushes (~2 MB of WAL): past the worker's 64-commit mark, under the backstop.
    for (let b = 0; b < 100; b++) {
      const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => store.recordPush(push(b * 20 + i))));
      expect(outcomes.every((o) => o === 'stored')).toBe(true);
    }
    await until(() => (store.checkpoints?.runs ?? 0) >= 1);
    const stats = store.checkpoints!;
    expect(stats.alive).toBe(true);
    expect(stats.failures).toBe(0);
    expect(stats.backfilled).toBeGreaterThan(100);
    expect(stats.walFrames).toBeGreaterThanOrEqual(stats.backfilled);
    // The pages are in the database file itself now, not only in the WAL.
    expect(statSync(path).size).toBeGreaterThan(before + 1_000_000);
    await store.close();
    expect(store.checkpoints!.alive).toBe(false);
    // The worker's connection closed first, so the store's was the last one and removed the WAL.
    expect(existsSync(`${path}-wal`)).toBe(false);
    const db = new BetterSqlite3(path, { readonly: true });
    expect(db.prepare('select count(*) as n from push_events').get()).toEqual({ n: 2000 });
    db.close();
  });

  it('a store that writes a row or two (a CLI command) never starts the worker', async () => {
    const { store } = open();
    await store.migrate();
    expect(await store.recordPush(push(1))).toBe('stored');
    await store.close();
    expect(store.checkpoints).toEqual({ runs: 0, walFrames: 0, backfilled: 0, failures: 0, alive: false });
  });

  it('in memory there is no WAL and no worker', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    stores.push(store);
    await store.migrate();
    expect(store.checkpoints).toBeUndefined();
  });
});
