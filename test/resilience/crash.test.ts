import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/create-store.js';
import { bundleWorker, spawnWorker } from '../helpers/spawn-worker.js';
import { startWorld, type World } from '../helpers/world.js';

const AAT = '/cgi-bin/component/api_authorizer_token';
const ROUNDS = Number(process.env.WXOPEN_CRASH_ROUNDS ?? 50);

/**
 * WeChat in `rotate` mode with no grace: every refresh kills the previous refresh token at once. A
 * process refreshing in a loop is killed with SIGKILL at random moments, 50 times; after each kill
 * every authorizer must still be refreshable. A kill between WeChat's answer and our commit loses the
 * newest token locally; the platform must get it back (api_get_authorizer_list) instead of losing the
 * merchant.
 */
describe(`crash safety: kill -9 during refreshes, ${ROUNDS} times, rotating refresh tokens`, () => {
  let w: World;
  let script: string;
  let dbUrl: string;
  let appids: string[];
  const recoveries: string[] = [];

  beforeAll(async () => {
    script = await bundleWorker();
    dbUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'wxopen-crash-')), 'wx.db')}`;
    w = await startWorld({ sandbox: { refreshTokenMode: 'rotate', refreshTokenGraceMs: 0 }, store: () => createStore(dbUrl), env: { WXOPEN_DATABASE_URL: dbUrl } });
    await w.settle();
    appids = w.sandbox.accounts.filter((a) => a.testGroup === undefined).slice(0, 3).map((a) => a.appid);
    for (const a of appids) await w.sandbox.authorize(a);
    await w.settle();
    w.platform.events.on('authorizer.refresh_token_recovered', (e) => recoveries.push(e.source));
  });
  afterAll(async () => {
    await w?.close();
    process.stdout.write(`crash test: ${ROUNDS} kills, ${recoveries.length} refresh tokens recovered (${recoveries.join(',') || 'none needed'})\n`);
  });

  it('loses no authorizer', async () => {
    let refreshesDuringChurn = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const before = appids.reduce((n, a) => n + w.sandbox.counters.get(AAT, a), 0);
      const worker = spawnWorker(script, { WORKER_MODE: 'churn', DB_URL: dbUrl, API_BASE: w.sandbox.url, APPIDS: appids.join(',') });
      await worker.ready;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 120));
      worker.child.kill('SIGKILL');
      await worker.exited;
      refreshesDuringChurn += appids.reduce((n, a) => n + w.sandbox.counters.get(AAT, a), 0) - before;
      for (const a of appids) {
        await expect(w.platform.authorizerToken(a, { force: true }), `round ${round}, ${a}`).resolves.toMatch(/.+/);
      }
    }
    expect(refreshesDuringChurn).toBeGreaterThan(ROUNDS);
    expect(await w.store.countAuthorizers(w.config.componentAppid)).toMatchObject({ authorized: appids.length, needs_reauthorization: 0 });
  }, 300_000);
});
