/**
 * `wxopen admin reset-token` run from any process (here: another AdminAuth on the same store, as the CLI builds
 * it) locks the old operator token out of every running instance within OPERATOR_HASH_TTL_MS, without a
 * restart: bearer calls, dashboard sign-in and existing dashboard sessions alike; the new token works there.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AdminAuth, OPERATOR_HASH_TTL_MS } from '../../src/admin/credentials.js';
import { startAdmin, type RunningAdmin } from '../../src/admin/start.js';
import { startWorld, type World } from '../helpers/world.js';

let w: World | undefined;
const admins: RunningAdmin[] = [];
afterEach(async () => {
  for (const a of admins.splice(0)) await a.close();
  await w?.close();
  w = undefined;
});

async function instance(world: World): Promise<RunningAdmin> {
  const config = { ...world.config, mode: 'real' as const, adminToken: undefined, adminPort: 0 };
  const admin = await startAdmin({ config, store: world.store, platform: world.platform, logger: world.context.logger, clock: world.sandbox.clock, metrics: world.context.metrics }, { listen: false, reconcileTimer: false });
  admins.push(admin);
  return admin;
}

const status = async (a: RunningAdmin, token: string) => (await a.app.inject({ url: '/api/v1/status', headers: { authorization: `Bearer ${token}` } })).statusCode;
const signIn = (a: RunningAdmin, token: string) =>
  a.app.inject({ method: 'POST', url: '/login', payload: `token=${token}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });

describe('admin reset-token reaches running instances', () => {
  it('the old token stops working on every instance within the interval, the new one starts; sessions end', async () => {
    w = await startWorld();
    const a = await instance(w);
    const b = await instance(w);
    expect(a.tokenSource).toBe('generated');
    expect(b.tokenSource).toBe('stored');
    const old = a.generatedToken!;
    expect(await status(a, old)).toBe(200);
    expect(await status(b, old)).toBe(200);
    const login = await signIn(a, old);
    expect(login.statusCode).toBe(303);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    expect((await a.app.inject({ url: '/?lang=en', headers: { cookie } })).statusCode).toBe(200);

    // The CLI: its own AdminAuth on the same database.
    const cli = new AdminAuth(w.store, w.config.componentAppid, () => w!.sandbox.clock.now());
    const fresh = await cli.resetOperatorToken();
    await w.sandbox.advance(OPERATOR_HASH_TTL_MS);

    for (const x of [a, b]) {
      expect(await status(x, old)).toBe(401);
      expect(await status(x, fresh)).toBe(200);
      expect((await signIn(x, old)).statusCode).toBe(401);
      expect((await signIn(x, fresh)).statusCode).toBe(303);
    }
    expect((await a.app.inject({ url: '/?lang=en', headers: { cookie } })).statusCode).toBe(401);
  });

  it('within the interval the stored hash is read once, however many bearer tokens arrive', async () => {
    w = await startWorld();
    const a = await instance(w);
    await w.sandbox.advance(OPERATOR_HASH_TTL_MS);
    let reads = 0;
    const getApiKey = w.store.getApiKey.bind(w.store);
    w.store.getApiKey = (c, id) => {
      if (id === 'operator') reads++;
      return getApiKey(c, id);
    };
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => status(a, `wxo_admin_guess${i}`)));
    expect(answers.every((s) => s === 401)).toBe(true);
    expect(reads).toBe(1);
  });
});
