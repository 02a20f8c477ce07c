import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { bundleScript, spawnWorker, type Worker } from '../helpers/spawn-worker.js';

const N = Number(process.env.WXOPEN_FLEET_CRASH_N ?? 200);
const AUDIT_MS = 60_000;

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, tries = 1200): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await read();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The fleet in child processes sharing one SQLite file, killed with SIGKILL while commits and submissions
 * are in flight (the sandbox answers each after 15 ms), then restarted: the job finishes and the sandbox
 * saw each merchant's commit, submission and release exactly once.
 */
describe(`fleet crash safety: kill -9 while deploying to ${N} mini programs`, () => {
  let sandbox: Sandbox;
  let script: string;
  let env: Record<string, string>;
  let worker: Worker | undefined;
  let store: Store;
  let fleet: Fleet;
  let platform: Platform;

  const start = async () => {
    worker = spawnWorker(script, env);
    await worker.ready;
  };
  const kill = async () => {
    worker!.child.kill('SIGKILL');
    await worker!.exited;
    worker = undefined;
  };

  beforeAll(async () => {
    script = await bundleScript('fleet-worker');
    const dbUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'wxopen-fleet-crash-')), 'wx.db')}`;
    sandbox = await startSandbox({ ticketIntervalMs: 0, auditQuotaPerMonth: 100_000, quotas: { '*': 1_000_000 }, accounts: fleetAccounts(N) });
    const [port] = await freePorts(1);
    const c = sandbox.state.component;
    env = {
      DB_URL: dbUrl,
      API_BASE: sandbox.url,
      PORT: String(port),
      COMPONENT_APPID: c.appid,
      COMPONENT_SECRET: c.secret,
      COMPONENT_TOKEN: c.token,
      COMPONENT_AES_KEY: c.encodingAesKey,
    };
    await start();
    sandbox.setPlatform({ componentPushUrl: `http://127.0.0.1:${port}/wechat/component`, authorizerPushUrl: `http://127.0.0.1:${port}/wechat/authorizer/$APPID$` });
    await sandbox.settled();
    store = await createStore(dbUrl);
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      WXOPEN_COMPONENT_APPID: c.appid,
      WXOPEN_COMPONENT_SECRET: c.secret,
      WXOPEN_TOKEN: c.token,
      WXOPEN_ENCODING_AES_KEY: c.encodingAesKey,
      WXOPEN_SECRET_KEY: 'ab'.repeat(32),
      WXOPEN_PUBLIC_URL: `http://127.0.0.1:${port}`,
      WXOPEN_DATABASE_URL: dbUrl,
      WXOPEN_API_BASE: sandbox.url,
      WXOPEN_API_BACKUP_BASES: '',
    });
    platform = new Platform({ config, store, logger: createLogger({ level: 'silent' }) });
    // This process only creates and watches the job; the children run it.
    fleet = createFleet({ platform, store, config });
    for (const a of sandbox.accounts) await sandbox.authorize(a.appid);
    await until('authorized', () => store.countAuthorizers(c.appid), (n) => n.authorized === N);
  }, 120_000);

  afterAll(async () => {
    if (worker) await kill();
    await platform?.close();
    await store?.close();
    await sandbox?.close();
  });

  it('commits, submits and releases every merchant exactly once across 3 kills', async () => {
    sandbox.faults.set('/wxa/commit', { type: 'latency', ms: 15 });
    sandbox.faults.set('/wxa/submit_audit', { type: 'latency', ms: 15 });
    const draft = sandbox.addDraft({ user_version: '4.0.0' });
    const templateId = sandbox.state.templates.addToTemplate(draft.draft_id, 0).template_id;
    const job = await fleet.createJob({ templateId, userVersion: '4.0.0', userDesc: 'crash', targets: { all: true } });
    const commits = () => sandbox.counters.get('/wxa/commit');
    const submits = () => sandbox.counters.get('/wxa/submit_audit');
    // Kill while commits are in flight, then while submissions are, then once more mid-way.
    for (const [what, read, at] of [
      ['commits', commits, Math.floor(N * 0.2)],
      ['submissions', submits, Math.floor(N * 0.3)],
      ['submissions', submits, Math.floor(N * 0.7)],
    ] as const) {
      await until(`${at} ${what}`, async () => read(), (n) => n >= at);
      await kill();
      await start();
    }
    await until('all submitted', () => fleet.progress(job.id), (p) => p.counts.audit_submitted === N, 2400);
    await sandbox.advance(AUDIT_MS);
    await until('job done', () => fleet.getJob(job.id), (j) => j.status === 'done', 2400);
    const p = await fleet.progress(job.id);
    expect(p.counts.released).toBe(N);
    const twice = (path: string) => sandbox.accounts.filter((a) => sandbox.counters.get(path, a.appid) !== 1).map((a) => `${a.appid}:${sandbox.counters.get(path, a.appid)}`);
    expect(twice('/wxa/commit')).toEqual([]);
    expect(twice('/wxa/submit_audit')).toEqual([]);
    expect(twice('/wxa/release')).toEqual([]);
    // The kills did land mid-flight: some steps were reconciled with WeChat's state after a restart.
    expect(sandbox.counters.get('/wxa/getversioninfo') + sandbox.counters.get('/wxa/get_latest_auditstatus')).toBeGreaterThan(0);
  }, 300_000);
});
