import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore, type SqliteStore } from '../../src/store/kysely/sqlite.js';
import type { PushRecord } from '../../src/store/types.js';

const C = 'wxcomponent';
const push = (i: number): PushRecord => ({
  componentAppid: C,
  dedupeKey: `k${i}`,
  infoType: 'authorized',
  authorizerAppid: `wxa${i}`,
  createTime: 1_700_000_000 + i,
  receivedAt: 1_700_000_000_000 + i,
  payload: `<xml><n>${i}</n></xml>`,
});

/** The group commit's private parts a test may look at: the connection and the WAL fsync. */
interface Inside {
  raw: { pragma(s: string, o: { simple: true }): unknown };
  group: { pragma(s: string, o: { simple: true }): unknown; open: boolean };
  fsyncWal(): Promise<void>;
}
const inside = (s: SqliteStore) => s as unknown as Inside;

describe('SQLite group commit: the WAL is fsynced off the event loop before anyone is answered', () => {
  const stores: SqliteStore[] = [];
  const open = (path = join(mkdtempSync(join(tmpdir(), 'wxopen-gc-')), 'wx.db')) => {
    const s = createSqliteStore({ path });
    stores.push(s);
    return { store: s, path };
  };
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  });

  it('answers after the fsync, shares one fsync among the commits made while one runs, and is durable across a reopen', async () => {
    const { store, path } = open();
    await store.migrate();
    const gates: Array<() => void> = [];
    const real = inside(store).fsyncWal.bind(store);
    inside(store).fsyncWal = () => new Promise<void>((r) => gates.push(r)).then(real);

    let answered = 0;
    const first = Promise.all(Array.from({ length: 50 }, (_, i) => store.recordPush(push(i)).then((o) => (answered++, o))));
    await new Promise((r) => setTimeout(r, 20));
    expect(gates).toHaveLength(1);
    expect(answered).toBe(0);
    // Two more group commits while the first fsync is held: they wait for one more fsync, not two.
    const second = store.recordPush(push(50));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 5));
    const third = store.recordPush(push(51));
    await new Promise((r) => setTimeout(r, 20));
    expect(gates).toHaveLength(1);
    gates[0]!();
    expect(await first).toEqual(Array(50).fill('stored'));
    await new Promise((r) => setTimeout(r, 20));
    expect(gates).toHaveLength(2);
    let laterAnswered = false;
    void Promise.all([second, third]).then(() => (laterAnswered = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(laterAnswered).toBe(false);
    gates[1]!();
    expect(await Promise.all([second, third])).toEqual(['stored', 'stored']);

    // Every other write keeps synchronous=full (2); the group commits have a connection of their own at normal (1).
    expect(inside(store).raw.pragma('synchronous', { simple: true })).toBe(2);
    expect(inside(store).group).not.toBe(inside(store).raw);
    expect(inside(store).group.pragma('synchronous', { simple: true })).toBe(1);
    expect(inside(store).group.pragma('foreign_keys', { simple: true })).toBe(1);
    await store.close();
    expect(inside(store).group.open).toBe(false);
    const again = open(path).store;
    await again.migrate();
    expect(await again.listPushes(C, { limit: 1000 })).toHaveLength(52);
  });

  it('a failed fsync fails the batch it covered (never answered as stored); the next batch is stored', async () => {
    const { store } = open();
    await store.migrate();
    const real = inside(store).fsyncWal.bind(store);
    let fail = true;
    inside(store).fsyncWal = () => (fail ? ((fail = false), Promise.reject(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }))) : real());
    await expect(store.recordPush(push(1))).rejects.toMatchObject({ code: 'EIO' });
    expect(await store.recordPush(push(2))).toBe('stored');
    // The row of the failed batch was committed: WeChat's retry of it is a duplicate, answered `success`.
    expect(await store.recordPush(push(1))).toBe('duplicate');
  });

  it('close waits for a commit whose fsync is still running', async () => {
    const { store } = open();
    await store.migrate();
    let release!: () => void;
    const real = inside(store).fsyncWal.bind(store);
    inside(store).fsyncWal = () => new Promise<void>((r) => (release = r)).then(real);
    const pending = store.recordPush(push(1));
    await new Promise((r) => setTimeout(r, 20));
    let closed = false;
    const closing = store.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(false);
    release();
    expect(await pending).toBe('stored');
    await closing;
  });

  it('in memory there is no WAL to sync', async () => {
    const s = createSqliteStore({ path: ':memory:' });
    stores.push(s);
    await s.migrate();
    let calls = 0;
    inside(s).fsyncWal = async () => void calls++;
    expect(await s.recordPush(push(1))).toBe('stored');
    expect(calls).toBe(0);
    // One connection: a second one to ':memory:' would be another, empty database.
    expect(inside(s).group).toBe(inside(s).raw);
  });
});
