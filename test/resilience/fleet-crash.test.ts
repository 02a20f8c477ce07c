import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleet, type Fleet } from '../../src/fleet/index.js';
import { loadConfig } from '../../src/config.js';
import { Platform } from '../../src/platform.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { createStore } from '../../src/store/create-store.js';
import type { Store } from '../../src/store/types.js';
import { createLogger } from '../../src/util/logger.js';
import { fleetAccounts } from '../helpers/fleet-world.js';
import { freePorts } from '../helpers/ports.js';
import { dropSchema, noteSkipped, PG_URL, REDIS_URL, uniqueSchema } from '../helpers/services.js';
import { bundleScript, spawnWorker, type Worker } from '../helpers/spawn-worker.js';
import { untilValue } from '../helpers/wait.js';
import { TEST_COMPONENT } from '../helpers/component.js';

const N = Number(process.env.WXOPEN_FLEET_CRASH_N ?? 200);
const AUDIT_MS = 60_000;

interface Setup {
  label: string;
  /** The URL the children use, and one this process opens (same database). */
  database(): Promise<{ childUrl: string; store: Store; url: string; cleanup(): Promise<void> }>;
  redisUrl?: string;
  instances: number;
}

function pgUrlWithSchema(base: string, schema: string): string {
  const u = new URL(base);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

/**
 * The fleet in child processes, killed with SIGKILL while commits and submissions are in flight (the
 * sandbox answers each after 15 ms), then restarted: the job finishes and the sandbox saw each merchant's
 * commit, submission and release exactly once.
 */
function crashSuite(setup: Setup): void {
  describe(`fleet crash safety (${setup.label}): kill -9 while deploying to ${N} mini programs`, () => {
    let sandbox: Sandbox;
    let script: string;
    let env: Record<string, string>;
    const workers: Array<Worker | undefined> = [];
    let ports: number[];
    let store: Store;
    let fleet: Fleet;
    let platform: Platform;
    let cleanup: (() => Promise<void>) | undefined;
    const prefix = `wxopen:fleet:t${randomBytes(4).toString('hex')}`;

    const start = async (i: number) => {
      const w = spawnWorker(script, { ...env, PORT: String(ports[i]) });
      workers[i] = w;
      await w.ready;
    };
    const kill = async (i: number) => {
      const w = workers[i];
      if (!w) return;
      w.child.kill('SIGKILL');
      await w.exited;
      workers[i] = undefined;
    };

    beforeAll(async () => {
      script = await bundleScript('fleet-worker');
      const db = await setup.database();
      store = db.store;
      cleanup = db.cleanup;
      sandbox = await startSandbox({ component: TEST_COMPONENT, ticketIntervalMs: 0, auditQuotaPerMonth: 100_000, quotas: { '*': 1_000_000 }, accounts: fleetAccounts(N) });
      ports = await freePorts(setup.instances);
      const c = sandbox.state.component;
      env = {
        DB_URL: db.childUrl,
        API_BASE: sandbox.url,
        COMPONENT_APPID: c.appid,
        COMPONENT_SECRET: c.secret,
        COMPONENT_TOKEN: c.token,
        COMPONENT_AES_KEY: c.encodingAesKey,
        FLEET_PREFIX: prefix,
        ...(setup.redisUrl !== undefined && { REDIS_URL: setup.redisUrl }),
      };
      for (let i = 0; i < setup.instances; i++) await start(i);
      // WeChat pushes to the first instance; every instance runs steps.
      sandbox.setPlatform({ componentPushUrl: `http://127.0.0.1:${ports[0]}/wechat/component`, authorizerPushUrl: `http://127.0.0.1:${ports[0]}/wechat/authorizer/$APPID$` });
      await sandbox.settled();
      const config = loadConfig({
        LOG_LEVEL: 'silent',
        WXOPEN_COMPONENT_APPID: c.appid,
        WXOPEN_COMPONENT_SECRET: c.secret,
        WXOPEN_TOKEN: c.token,
        WXOPEN_ENCODING_AES_KEY: c.encodingAesKey,
        WXOPEN_SECRET_KEY: 'ab'.repeat(32),
        WXOPEN_PUBLIC_URL: `http://127.0.0.1:${ports[0]}`,
        WXOPEN_DATABASE_URL: db.url,
        WXOPEN_API_BASE: sandbox.url,
        WXOPEN_API_BACKUP_BASES: '',
      });
      platform = new Platform({ config, store, logger: createLogger({ level: 'silent' }) });
      // This process only creates and watches the job; the children run it.
      fleet = createFleet({ platform, store, config: { ...config, redisUrl: undefined } });
      for (const a of sandbox.accounts) await sandbox.authorize(a.appid);
      await untilValue('authorized', () => store.countAuthorizers(c.appid), (n) => n.authorized === N, { timeoutMs: 60_000 });
    }, 120_000);

    afterAll(async () => {
      for (let i = 0; i < workers.length; i++) await kill(i);
      await platform?.close();
      await store?.close();
      await sandbox?.close();
      await cleanup?.();
      if (setup.redisUrl) {
        const r = new Redis(setup.redisUrl);
        const keys = await r.keys(`${prefix}:*`);
        if (keys.length) await r.del(...keys);
        r.disconnect();
      }
    });

    it('commits, submits and releases every merchant exactly once across the kills', async () => {
      sandbox.faults.set('/wxa/commit', { type: 'latency', ms: 15 });
      sandbox.faults.set('/wxa/submit_audit', { type: 'latency', ms: 15 });
      const draft = sandbox.addDraft({ user_version: '4.0.0' });
      const templateId = sandbox.state.templates.addToTemplate(draft.draft_id, 0).template_id;
      const job = await fleet.createJob({ templateId, userVersion: '4.0.0', userDesc: 'crash', targets: { all: true } });
      const t0 = Date.now();
      const trace = process.env.WXOPEN_FLEET_TRACE
        ? setInterval(() => void fleet.progress(job.id).then((p) => process.stderr.write(`${((Date.now() - t0) / 1000).toFixed(0)}s ${JSON.stringify(p.counts)}\n`)), 5000)
        : undefined;
      const commits = () => sandbox.counters.get('/wxa/commit');
      const submits = () => sandbox.counters.get('/wxa/submit_audit');
      const last = setup.instances - 1;
      // Kill while commits are in flight, then while submissions are, then every instance mid-way.
      for (const [what, read, at, victims] of [
        ['commits', commits, Math.floor(N * 0.2), [0]],
        ['submissions', submits, Math.floor(N * 0.3), [last]],
        ['submissions', submits, Math.floor(N * 0.7), [...Array(setup.instances).keys()]],
      ] as const) {
        await untilValue(`${at} ${what}`, async () => read(), (n) => n >= at, { timeoutMs: 60_000 });
        for (const i of victims) await kill(i);
        for (const i of victims) await start(i);
      }
      await untilValue('all submitted', () => fleet.progress(job.id), (p) => p.counts.pending + p.counts.committed === 0, { timeoutMs: 120_000 });
      await sandbox.advance(AUDIT_MS);
      await untilValue('job done', () => fleet.getJob(job.id), (j) => j.status === 'done', { timeoutMs: 120_000 });
      if (trace) clearInterval(trace);
      const p = await fleet.progress(job.id);
      expect(p.counts.released).toBe(N);
      const notOnce = (path: string) => sandbox.accounts.filter((a) => sandbox.counters.get(path, a.appid) !== 1).map((a) => `${a.appid}:${sandbox.counters.get(path, a.appid)}`);
      expect(notOnce('/wxa/commit')).toEqual([]);
      expect(notOnce('/wxa/submit_audit')).toEqual([]);
      expect(notOnce('/wxa/release')).toEqual([]);
      // The kills did land mid-flight: some steps were reconciled with WeChat's state after a restart.
      expect(sandbox.counters.get('/wxa/getversioninfo') + sandbox.counters.get('/wxa/get_latest_auditstatus')).toBeGreaterThan(0);
    }, 600_000);
  });
}

crashSuite({
  label: 'one process, SQLite, embedded runner',
  instances: 1,
  async database() {
    const url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'wxopen-fleet-crash-')), 'wx.db')}`;
    return { url, childUrl: url, store: await createStore(url), cleanup: async () => {} };
  },
});

if (PG_URL && REDIS_URL) {
  const pg = PG_URL;
  crashSuite({
    label: 'two instances, PostgreSQL and BullMQ on Redis',
    instances: 2,
    redisUrl: REDIS_URL,
    async database() {
      const schema = uniqueSchema('wxo_fleet');
      const store = await createStore(pg, { schema });
      const url = pgUrlWithSchema(pg, schema);
      return { url, childUrl: url, store, cleanup: () => dropSchema(pg, schema) };
    },
  });
} else {
  noteSkipped('fleet crash safety with two instances (PostgreSQL + Redis)', 'WXOPEN_TEST_PG_URL and WXOPEN_TEST_REDIS_URL');
}
