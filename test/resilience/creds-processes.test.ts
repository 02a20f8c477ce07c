import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { createStore } from '../../src/store/create-store.js';
import type { Store } from '../../src/store/types.js';
import { dropSchema, noteSkipped, PG_URL, REDIS_URL, uniqueSchema } from '../helpers/services.js';
import { bundleScript, bundleWorker, spawnWorker, type Worker } from '../helpers/spawn-worker.js';
import { startWorld, type World } from '../helpers/world.js';

const TOKEN = '/cgi-bin/component/api_component_token';
const QUERY_AUTH = '/cgi-bin/component/api_query_auth';
/** The default lease (DEFAULT_CREDENTIAL_OPTIONS.lockLeaseMs) plus a margin for process start and polling. */
const LEASE_MS = 10_000;
const MARGIN_MS = 3_000;

async function until(cond: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A database URL whose connections carry `application_name`, so the test can find exactly its backends. */
function taggedUrl(base: string, schema: string, app: string): string {
  const u = new URL(base);
  u.searchParams.set('application_name', app);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

async function terminateBackends(url: string, app: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query('select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()', [app]);
    return r.rowCount ?? 0;
  } finally {
    await client.end();
  }
}

function serverUrl(worker: Worker, kind: 'url' | 'admin' = 'url'): string {
  const line = worker.lines.find((l) => l.startsWith(`${kind} `));
  if (!line) throw new Error(`server worker printed no ${kind}`);
  return line.slice(kind.length + 1);
}

/** The server worker's operator token (test/helpers/server-worker.ts): /metrics is on its operator listener. */
const WORKER_ADMIN_TOKEN = 'server-worker-operator-token-0123';

if (!PG_URL) {
  noteSkipped('credentials across processes (dropped connections, crashes, dead lease holders)', 'WXOPEN_TEST_PG_URL');
} else {
  const pgUrl = PG_URL;

  describe('a server whose PostgreSQL connections are dropped, and one killed before exchanging a code', () => {
    const schema = uniqueSchema('wxo_creds');
    let sandbox: Sandbox;
    let store: Store;
    let script: string;
    const workers: Worker[] = [];
    const spawnServer = (app: string) => {
      const worker = spawnWorker(script, { DB_URL: taggedUrl(pgUrl, schema, app), API_BASE: sandbox.url });
      workers.push(worker);
      return worker;
    };
    const point = (worker: Worker) => {
      const url = serverUrl(worker);
      sandbox.setPlatform({ componentPushUrl: `${url}/wechat/component`, authorizerPushUrl: `${url}/wechat/authorizer/$APPID$` });
      return url;
    };

    beforeAll(async () => {
      script = await bundleScript('server-worker');
      store = await createStore(pgUrl, { schema });
      sandbox = await startSandbox({ ticketIntervalMs: 0 });
    }, 60_000);
    afterEach(() => {
      for (const w of workers.splice(0)) w.child.kill('SIGKILL');
    });
    afterAll(async () => {
      await sandbox?.close();
      await store?.close();
      await dropSchema(pgUrl, schema);
    }, 60_000);

    it('stays up when its backends are terminated, also while a refresh lease is held, and stores the next push', async () => {
      const app = `wxotest_${randomBytes(4).toString('hex')}`;
      const worker = spawnServer(app);
      await worker.ready;
      const url = point(worker);
      await until(async () => (await store.getTicket(sandbox.state.component.appid)) !== undefined, 10_000, 'the first ticket');
      // A refresh holds the advisory-lock session (a checked-out client) while WeChat is slow.
      sandbox.faults.set(TOKEN, { type: 'latency', ms: 1500, times: 1 });
      const go = fetch(`${url}/authorize/go?auth_type=3`, { redirect: 'manual' });
      await until(() => sandbox.counters.get(TOKEN) === 1, 10_000, 'the refresh to start');
      expect(await terminateBackends(pgUrl, app)).toBeGreaterThanOrEqual(2);
      const answer = await go;
      expect([302, 503]).toContain(answer.status);
      await new Promise((r) => setTimeout(r, 300));
      expect(worker.child.exitCode).toBeNull();
      // Idle connections die too: terminate again once the pool is at rest.
      await terminateBackends(pgUrl, app);
      await new Promise((r) => setTimeout(r, 300));
      expect(worker.child.exitCode).toBeNull();
      const ticket = await sandbox.pushTicket();
      await sandbox.settled();
      await until(async () => (await store.getTicket(sandbox.state.component.appid))?.ticket === ticket, 10_000, 'the next ticket to be stored');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const metrics = await fetch(`${serverUrl(worker, 'admin')}/metrics`, { headers: { authorization: `Bearer ${WORKER_ADMIN_TOKEN}` } });
      expect(await metrics.text()).toMatch(/wxopen_connection_errors_total\{source="store"\} [1-9]/);
    }, 60_000);

    it('a server killed after acknowledging an authorized push, before exchanging its code, exchanges it after restart', async () => {
      const app = `wxotest_${randomBytes(4).toString('hex')}`;
      const first = spawnServer(app);
      await first.ready;
      point(first);
      await until(async () => (await store.getTicket(sandbox.state.component.appid)) !== undefined, 10_000, 'a ticket');
      const appid = sandbox.accounts.find((a) => a.type === 'official' && a.testGroup === undefined)!.appid;
      // WeChat is slow to answer the exchange: the process dies while waiting for it.
      sandbox.faults.set(QUERY_AUTH, { type: 'latency', ms: 12_000, times: 1 });
      const before = sandbox.counters.get(QUERY_AUTH);
      const { delivery } = await sandbox.authorize(appid);
      expect(delivery).toMatchObject({ status: 200, body: 'success' });
      await until(() => sandbox.counters.get(QUERY_AUTH) === before + 1, 10_000, 'the exchange to start');
      first.child.kill('SIGKILL');
      await first.exited;
      expect(await store.getAuthorizer(sandbox.state.component.appid, appid)).toBeUndefined();

      const second = spawnServer(app);
      await second.ready;
      point(second);
      await until(async () => (await store.getAuthorizer(sandbox.state.component.appid, appid))?.status === 'authorized', 15_000, 'the authorizer to be stored');
    }, 60_000);
  });

  const leaseHolderKilled = (name: string, redisUrl: string | undefined) =>
    describe(`a lease holder killed mid-refresh (${name})`, () => {
      const schema = uniqueSchema('wxo_lease');
      const lockPrefix = `wxopen:test:lease:${randomBytes(4).toString('hex')}:`;
      let w: World;
      let script: string;

      beforeAll(async () => {
        script = await bundleWorker();
        w = await startWorld({ store: () => createStore(pgUrl, { schema }), env: { WXOPEN_DATABASE_URL: pgUrl } });
        await w.sandbox.pushTicket();
        await w.settle();
      }, 60_000);
      afterAll(async () => {
        await w?.close();
        await dropSchema(pgUrl, schema);
      }, 60_000);

      it(`another process obtains the token within lease + ${MARGIN_MS} ms and no caller fails`, async () => {
        const env = { WORKER_MODE: 'component', DB_URL: pgUrl, PG_SCHEMA: schema, REDIS_URL: redisUrl, LOCK_PREFIX: redisUrl ? lockPrefix : undefined, API_BASE: w.sandbox.url };
        w.sandbox.counters.reset();
        w.sandbox.faults.set(TOKEN, { type: 'latency', ms: 20_000, times: 1 });
        const holder = spawnWorker(script, env);
        const waiter = spawnWorker(script, env);
        try {
          await Promise.all([holder.ready, waiter.ready]);
          holder.child.stdin.write('go\n');
          await until(() => w.sandbox.counters.get(TOKEN) === 1, 10_000, 'the holder to call WeChat');
          waiter.child.stdin.write('go\n');
          await new Promise((r) => setTimeout(r, 500));
          holder.child.kill('SIGKILL');
          const killedAt = Date.now();
          expect(await waiter.exited).toBe(0);
          const elapsed = Date.now() - killedAt;
          const result = JSON.parse(waiter.lines.at(-1)!) as { token?: string; error?: string };
          expect(result.error).toBeUndefined();
          expect(result.token).toMatch(/.+/);
          expect(elapsed).toBeLessThan(LEASE_MS + MARGIN_MS);
          expect(w.sandbox.counters.get(TOKEN)).toBe(2);
          process.stdout.write(`lease test (${name}): waiter got the token ${elapsed} ms after the holder was killed\n`);
        } finally {
          holder.child.kill('SIGKILL');
          waiter.child.kill('SIGKILL');
        }
      }, 60_000);
    });

  if (REDIS_URL) leaseHolderKilled('Redis lease', REDIS_URL);
  else noteSkipped('lease holder killed (Redis)', 'WXOPEN_TEST_REDIS_URL');
  leaseHolderKilled('PostgreSQL advisory lock', undefined);
}
