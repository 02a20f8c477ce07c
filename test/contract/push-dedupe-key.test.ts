import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pushDedupeKey } from '../../src/push/dedupe-key.js';
import { createStore } from '../../src/store/create-store.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { createMigrator } from '../../src/store/kysely/migrator.js';
import { dropSchema, noteSkipped, PG_URL, uniqueSchema } from '../helpers/services.js';

const C = 'wxcomponent';
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

describe('pushDedupeKey: CreateTime in front (the unique index grows at its end), the hash decides', () => {
  it('is the zero-padded CreateTime, a colon, then the SHA-1 of the plaintext', () => {
    const p = '<xml><InfoType><![CDATA[authorized]]></InfoType></xml>';
    expect(pushDedupeKey(p, 1_700_000_000)).toBe(`1700000000:${sha1(p)}`);
    expect(pushDedupeKey(p, 42)).toBe(`0000000042:${sha1(p)}`);
    expect(pushDedupeKey(p, 0)).toBe(`0000000000:${sha1(p)}`);
    expect(pushDedupeKey(p, 9_999_999_999)).toBe(`9999999999:${sha1(p)}`);
  });

  it('keys sort by CreateTime as text, so a later push never lands before an earlier one', () => {
    const times = [5, 999, 1_000, 1_699_999_999, 1_700_000_000, 9_999_999_999];
    const keys = times.map((t) => pushDedupeKey('x', t));
    expect([...keys].sort()).toEqual(keys);
  });

  it('writes any value it cannot pad as it is, and still tells pushes apart only by their plaintext', () => {
    expect(pushDedupeKey('x', -1)).toBe(`-1:${sha1('x')}`);
    expect(pushDedupeKey('x', 10_000_000_000)).toBe(`10000000000:${sha1('x')}`);
    expect(pushDedupeKey('x', 1.5)).toBe(`1.5:${sha1('x')}`);
    expect(pushDedupeKey('a', 7)).not.toBe(pushDedupeKey('b', 7));
    expect(pushDedupeKey('a', 7)).toBe(pushDedupeKey('a', 7));
  });
});

/**
 * A database written before push_0001_time_ordered_keys holds bare SHA-1 keys. After the upgrade a
 * WeChat retry of one of those pushes must still be a duplicate, so the migration writes exactly the
 * form pushDedupeKey computes; its down migration gives the bare hashes back.
 */
function migrationSuite(name: string, open: () => Promise<{ store: KyselyStore; done: () => Promise<void> }>) {
  describe(`push_0001_time_ordered_keys on ${name}`, () => {
    it('rewrites old keys to pushDedupeKey, so a retry after the upgrade is a duplicate; down restores them', async () => {
      const { store, done } = await open();
      try {
        const migrator = await createMigrator(store.db, store.dialect);
        expect((await migrator.migrateToLatest()).error).toBeUndefined();
        const down = await migrator.migrateDown();
        expect(down.error).toBeUndefined();
        expect(down.results?.map((r) => r.migrationName)).toEqual(['push_0001_time_ordered_keys']);

        const old = [
          { payload: '<xml><A>一</A></xml>', createTime: 1_700_000_000 },
          { payload: '<xml><A>二</A></xml>', createTime: 12_345 },
          { payload: '<xml><A>三</A></xml>', createTime: -7 },
        ];
        for (const [i, o] of old.entries()) {
          const record = { componentAppid: C, dedupeKey: sha1(o.payload), infoType: 'authorized', authorizerAppid: `wxa${i}`, createTime: o.createTime, receivedAt: 1, payload: o.payload };
          expect(await store.recordPush(record)).toBe('stored');
        }
        const keys = async () =>
          (await store.db.selectFrom('push_events').select(['dedupe_key', 'payload']).where('component_appid', '=', C).orderBy('id').execute()).map((r) => r.dedupe_key);

        await store.migrate();
        expect(await keys()).toEqual(old.map((o) => pushDedupeKey(o.payload, o.createTime)));
        for (const [i, o] of old.entries()) {
          const retry = { componentAppid: C, dedupeKey: pushDedupeKey(o.payload, o.createTime), infoType: 'authorized', authorizerAppid: `wxa${i}`, createTime: o.createTime, receivedAt: 2, payload: o.payload };
          expect(await store.recordPush(retry)).toBe('duplicate');
        }
        // Running it again (a second instance upgrading) leaves keys that already have a prefix alone.
        await store.migrate();
        expect(await keys()).toEqual(old.map((o) => pushDedupeKey(o.payload, o.createTime)));

        expect((await migrator.migrateDown()).error).toBeUndefined();
        expect(await keys()).toEqual(old.map((o) => sha1(o.payload)));
      } finally {
        await done();
      }
    });
  });
}

migrationSuite('SQLite', async () => {
  const store = (await createStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'wxopen-pk-')), 'wx.db')}`, { migrate: false })) as KyselyStore;
  return { store, done: () => store.close() };
});

if (PG_URL) {
  const url = PG_URL;
  migrationSuite('PostgreSQL', async () => {
    const schema = uniqueSchema();
    const store = (await createStore(url, { schema, migrate: false })) as KyselyStore;
    return {
      store,
      done: async () => {
        await store.close();
        await dropSchema(url, schema);
      },
    };
  });
} else {
  noteSkipped('push_0001_time_ordered_keys on PostgreSQL', 'WXOPEN_TEST_PG_URL');
}
