import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pushDedupeKey } from '../../src/push/dedupe-key.js';
import { createStore } from '../../src/store/create-store.js';
import { Migrator } from 'kysely';
import { ExchangeQueue } from '../../src/credentials/exchanges.js';
import { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { migrationProvider } from '../../src/store/kysely/migrations.js';
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

/** Migrates as a version without `missing` would have, so the test can write rows in the older form. */
async function migrateWithout(store: KyselyStore, missing: string, schema?: string): Promise<Migrator> {
  const provider = migrationProvider(store.dialect);
  const older = new Migrator({
    db: store.db,
    provider: { getMigrations: async () => Object.fromEntries(Object.entries(await provider.getMigrations()).filter(([name]) => name !== missing)) },
    allowUnorderedMigrations: true,
    ...(schema && { migrationTableSchema: schema }),
  });
  expect((await older.migrateToLatest()).error).toBeUndefined();
  return older;
}

/** The rows' keys in insertion order. */
const keys = async (store: KyselyStore, table: 'push_events' | 'creds_exchanges') =>
  table === 'push_events'
    ? (await store.db.selectFrom('push_events').select('dedupe_key').where('component_appid', '=', C).orderBy('id').execute()).map((r) => r.dedupe_key)
    : (await store.db.selectFrom('creds_exchanges').select('code_key').where('component_appid', '=', C).orderBy('received_at').execute()).map((r) => r.code_key);

/** ExchangeQueue.key itself (it reads only the component appid), so the test checks the key the queue will look for. */
const exchangeKey = (code: string, createTime: number): string => ExchangeQueue.prototype.key.call({ ctx: { componentAppid: C } } as unknown as ExchangeQueue, code, createTime);

/**
 * Databases written before these migrations hold bare hashes. After the upgrade a WeChat retry of a
 * stored push must still be a duplicate, and the exchange sweep (which rebuilds a code's key from its
 * stored push) must find the code's row rather than add a second one and spend the code twice; so the
 * migrations write exactly the keys the code computes, and their down migrations give the hashes back.
 */
function migrationSuite(name: string, open: () => Promise<{ store: KyselyStore; schema?: string; done: () => Promise<void> }>) {
  describe(`time-ordered key migrations on ${name}`, () => {
    it('push_0001 rewrites old push keys to pushDedupeKey, so a retry after the upgrade is a duplicate; down restores them', async () => {
      const { store, schema, done } = await open();
      try {
        await migrateWithout(store, 'push_0001_time_ordered_keys', schema);
        const old = [
          { payload: '<xml><A>一</A></xml>', createTime: 1_700_000_000 },
          { payload: '<xml><A>二</A></xml>', createTime: 12_345 },
          { payload: '<xml><A>三</A></xml>', createTime: -7 },
        ];
        const record = (o: (typeof old)[number], i: number, dedupeKey: string) => ({ componentAppid: C, dedupeKey, infoType: 'authorized', authorizerAppid: `wxa${i}`, createTime: o.createTime, receivedAt: 1, payload: o.payload });
        for (const [i, o] of old.entries()) expect(await store.recordPush(record(o, i, sha1(o.payload)))).toBe('stored');

        await store.migrate();
        expect(await keys(store, 'push_events')).toEqual(old.map((o) => pushDedupeKey(o.payload, o.createTime)));
        for (const [i, o] of old.entries()) expect(await store.recordPush(record(o, i, pushDedupeKey(o.payload, o.createTime)))).toBe('duplicate');
        // Running it again (a second instance upgrading) leaves keys that already have a prefix alone.
        await store.migrate();
        expect(await keys(store, 'push_events')).toEqual(old.map((o) => pushDedupeKey(o.payload, o.createTime)));

        const full = await createMigrator(store.db, store.dialect);
        expect((await full.migrateDown()).results?.map((r) => [r.migrationName, r.status])).toEqual([['push_0001_time_ordered_keys', 'Success']]);
        expect(await keys(store, 'push_events')).toEqual(old.map((o) => sha1(o.payload)));
      } finally {
        await done();
      }
    });

    it('creds_0002 gives each stored exchange the key ExchangeQueue.key builds from its push; rows without a push stay; down restores', async () => {
      const { store, schema, done } = await open();
      try {
        await migrateWithout(store, 'creds_0002_time_ordered_code_keys', schema);
        const now = Date.now();
        const authorized = (code: string, createTime: number, infoType = 'authorized') =>
          `<xml><AppId><![CDATA[${C}]]></AppId><CreateTime>${createTime}</CreateTime><InfoType><![CDATA[${infoType}]]></InfoType><AuthorizerAppid><![CDATA[wxa]]></AuthorizerAppid><AuthorizationCode><![CDATA[${code}]]></AuthorizationCode></xml>`;
        const pushes = [
          { code: 'queryauthcode@@@one', createTime: 1_700_000_000, infoType: 'authorized' },
          { code: 'queryauthcode@@@two&<', createTime: 1_700_000_100, infoType: 'updateauthorized' },
        ];
        for (const [i, p] of pushes.entries()) {
          const payload = authorized(p.code, p.createTime, p.infoType);
          await store.recordPush({ componentAppid: C, dedupeKey: `p${i}`, infoType: p.infoType, authorizerAppid: 'wxa', createTime: p.createTime, receivedAt: now + i, payload });
        }
        const codes = [...pushes.map((p) => p.code), 'queryauthcode@@@no-push'];
        const codeHash = (code: string) => createHash('sha256').update(`${C}:${code}`).digest('hex');
        for (const [i, code] of codes.entries()) {
          const row = { componentAppid: C, codeKey: codeHash(code), codeEnc: 'sealed', authorizerAppid: 'wxa', eventTime: 1, receivedAt: now + 10 + i, expiresAt: now + 600_000, nextAttemptAt: now };
          expect(await store.recordExchange(row)).toBe(true);
        }

        await store.migrate();
        const expected = [...pushes.map((p) => exchangeKey(p.code, p.createTime)), codeHash('queryauthcode@@@no-push')];
        expect(await keys(store, 'creds_exchanges')).toEqual(expected);
        expect(expected[0]).toMatch(/^1700000000:[0-9a-f]{64}$/);
        // What the sweep does for a stored push after the upgrade: its row is found, no second one is added.
        for (const p of pushes) {
          const again = { componentAppid: C, codeKey: exchangeKey(p.code, p.createTime), codeEnc: 'sealed', authorizerAppid: 'wxa', eventTime: 1, receivedAt: now + 99, expiresAt: now + 600_000, nextAttemptAt: now };
          expect(await store.recordExchange(again)).toBe(false);
        }

        const full = await createMigrator(store.db, store.dialect);
        expect((await full.migrateDown()).results?.map((r) => [r.migrationName, r.status])).toEqual([['creds_0002_time_ordered_code_keys', 'Success']]);
        expect(await keys(store, 'creds_exchanges')).toEqual(codes.map(codeHash));
      } finally {
        await done();
      }
    });
  });
}

migrationSuite('SQLite', async () => {
  const store = (await createStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'wxopen-tk-')), 'wx.db')}`, { migrate: false })) as KyselyStore;
  return { store, done: () => store.close() };
});

if (PG_URL) {
  const url = PG_URL;
  migrationSuite('PostgreSQL', async () => {
    const schema = uniqueSchema();
    const store = (await createStore(url, { schema, migrate: false })) as KyselyStore;
    return {
      store,
      schema,
      done: async () => {
        await store.close();
        await dropSchema(url, schema);
      },
    };
  });
} else {
  noteSkipped('time-ordered key migrations on PostgreSQL', 'WXOPEN_TEST_PG_URL');
}
