import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/create-store.js';
import { dropSchema, noteSkipped, PG_URL, REDIS_URL, uniqueSchema } from '../helpers/services.js';
import { bundleWorker, spawnWorker } from '../helpers/spawn-worker.js';
import { startWorld, type World } from '../helpers/world.js';

const TOKEN = '/cgi-bin/component/api_component_token';
const AAT = '/cgi-bin/component/api_authorizer_token';
const PROCESSES = 4;
const CALLERS = 200;

function stampede(name: string, pgUrl: string, redisUrl: string | undefined): void {
  describe(`stampede: ${PROCESSES} processes × ${CALLERS} callers on expired tokens (${name})`, () => {
    const schema = uniqueSchema('wxo_stampede');
    let w: World;
    let script: string;
    let appids: string[];

    beforeAll(async () => {
      script = await bundleWorker();
      w = await startWorld({ realClock: true, store: () => createStore(pgUrl, { schema }), env: { WXOPEN_DATABASE_URL: pgUrl } });
      await w.settle();
      appids = w.sandbox.accounts.filter((a) => a.testGroup === undefined).slice(0, 3).map((a) => a.appid);
      for (const a of appids) await w.sandbox.authorize(a);
      await w.settle();
      await w.platform.componentToken();
    }, 60_000);
    afterAll(async () => {
      await w?.close();
      await dropSchema(pgUrl, schema);
    });

    it('calls api_component_token exactly once and api_authorizer_token exactly once per authorizer', async () => {
      const c = w.config.componentAppid;
      // Expire every token: the stored component token's expiry is in the past, the access tokens are gone.
      const cat = (await w.store.getComponentToken(c))!;
      await w.store.saveComponentToken({ ...cat, expiresAt: Date.now() - 1000 });
      for (const a of appids) {
        const r = (await w.store.getAuthorizer(c, a))!;
        expect(r.accessTokenEnc).not.toBeNull();
        await w.store.invalidateAuthorizerAccessToken(c, a, r.version);
      }
      if (redisUrl) {
        // A token another run left under this sandbox URL must not be read as this run's.
        const { Redis } = await import('ioredis');
        const redis = new Redis(redisUrl);
        await redis.del(`wxopen:cache:cat:${c}:${w.platform.ctx.apiNamespace}`);
        redis.disconnect();
      }
      w.sandbox.counters.reset();

      const workers = Array.from({ length: PROCESSES }, () =>
        spawnWorker(script, { DB_URL: pgUrl, PG_SCHEMA: schema, REDIS_URL: redisUrl, API_BASE: w.sandbox.url, APPIDS: appids.join(','), CALLERS: String(CALLERS) }),
      );
      await Promise.all(workers.map((x) => x.ready));
      for (const x of workers) x.child.stdin.write('go\n');
      const codes = await Promise.all(workers.map((x) => x.exited));
      expect(codes).toEqual(workers.map(() => 0));
      const results = workers.map((x) => JSON.parse(x.lines.at(-1)!) as { component: string[]; authorizer: Record<string, string[]> });

      expect(w.sandbox.counters.get(TOKEN)).toBe(1);
      for (const a of appids) expect(w.sandbox.counters.get(AAT, a)).toBe(1);
      // Everyone got the same, new tokens.
      const component = new Set(results.flatMap((r) => r.component));
      expect(component.size).toBe(1);
      for (const a of appids) expect(new Set(results.flatMap((r) => r.authorizer[a]!)).size).toBe(1);
    }, 120_000);
  });
}

if (PG_URL) {
  if (REDIS_URL) stampede('PostgreSQL store, Redis locks', PG_URL, REDIS_URL);
  else noteSkipped('stampede with Redis locks', 'WXOPEN_TEST_REDIS_URL');
  stampede('PostgreSQL store, PostgreSQL advisory locks', PG_URL, undefined);
} else {
  noteSkipped('stampede across processes', 'WXOPEN_TEST_PG_URL');
}
