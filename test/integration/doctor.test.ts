import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runDoctor, type DoctorOptions } from '../../src/cli/doctor/run.js';
import { CHECK_IDS, formatReport, type CheckId, type DoctorReport } from '../../src/cli/doctor/report.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createStore } from '../../src/store/create-store.js';
import { systemClock } from '../../src/util/clock.js';
import { dropSchema, PG_URL, REDIS_URL, uniqueSchema } from '../helpers/services.js';
import { freePorts } from '../helpers/ports.js';
import { startWorld, type World } from '../helpers/world.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** The platform server and the sandbox on loopback, on a SQLite file the doctor opens by its URL like an operator would. */
async function world(env: Record<string, string> = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'wxopen-doctor-'));
  return startWorld({ realClock: true, env: { WXOPEN_DATABASE_URL: `sqlite:${join(dir, 'wx.db')}`, ...env } });
}

function doctor(config: Config, options: Partial<DoctorOptions> = {}): Promise<DoctorReport> {
  return runDoctor({ loadConfig: () => ({ ...config }), clock: systemClock, timeoutMs: 3000, ...options });
}

function check(report: DoctorReport, id: CheckId) {
  const found = report.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no ${id} check in ${formatReport(report)}`);
  return found;
}

/** Statuses by id, for one readable assertion per scenario. */
function statuses(report: DoctorReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
}

describe('wxopen doctor against the sandbox', { timeout: 60_000 }, () => {
  let w: World;
  beforeEach(async () => {
    w = await world();
    await w.settle();
  });
  afterEach(async () => {
    await w.close();
  });

  it('all pass on a healthy platform: every check listed once, in order, with figures for monitoring', async () => {
    const appid = w.sandbox.accounts.find((a) => a.type === 'miniprogram')!.appid;
    await w.sandbox.authorize(appid);
    await w.settle();
    const report = await doctor(w.config);
    expect(report.checks.map((c) => c.id)).toEqual([...CHECK_IDS]);
    expect(statuses(report)).toEqual({
      config: 'pass', database: 'pass', schema: 'pass', 'database-write': 'pass', 'secret-keys': 'pass', redis: 'skip', ticket: 'pass',
      'component-token': 'pass', 'egress-ip': 'pass', 'public-url': 'pass', clock: 'pass', authorizers: 'pass',
    });
    expect(report.ok).toBe(true);
    expect(report.summary).toEqual({ pass: 11, warn: 0, fail: 0, skip: 1 });
    expect(check(report, 'ticket').data).toMatchObject({ ageSeconds: expect.any(Number) });
    expect(check(report, 'authorizers').message).toBe('1 authorized, none needs re-authorization');
    expect(check(report, 'egress-ip').message).toMatch(/api_get_authorizer_list answered, 1 authorizers/);
    expect(formatReport(report)).toMatch(/^pass  config {11}sandbox mode/);
    expect(formatReport(report)).toMatch(/\n11 passed, 0 warnings, 0 failed, 1 skipped\n$/);
  });

  it('61004: names the egress IP WeChat saw and how to whitelist it', async () => {
    w.sandbox.faults.set('/cgi-bin/component/api_get_authorizer_list', { type: 'ip_not_whitelisted' });
    const report = await doctor(w.config);
    const egress = check(report, 'egress-ip');
    expect(egress).toMatchObject({ status: 'fail', data: { egressIp: '127.0.0.1' } });
    expect(egress.message).toBe('WeChat refuses calls from 127.0.0.1 (errcode 61004: not in the IP whitelist)');
    expect(egress.fix).toMatch(/^add 127\.0\.0\.1 to open\.weixin\.qq\.com .*白名单IP地址/);
    expect(report.ok).toBe(false);
  });

  it('61004 on the token itself fails both the token and the egress check', async () => {
    w.sandbox.faults.set('*', { type: 'ip_not_whitelisted' });
    // A stored token would be reused without asking WeChat: this one must be obtained.
    await w.store.invalidateComponentToken(w.config.componentAppid, (await w.store.getComponentToken(w.config.componentAppid))?.obtainedAt ?? 0);
    const report = await doctor(w.config);
    expect(check(report, 'component-token')).toMatchObject({ status: 'fail', data: { errcode: 61004 } });
    expect(check(report, 'egress-ip')).toMatchObject({ status: 'fail', data: { egressIp: '127.0.0.1' } });
  });

  it('a WeChat clock ten minutes ahead fails the clock check (pushes would be refused); one minute ahead warns', async () => {
    // As a real deployment reads it (the same simulator answering): this machine's clock is the suspect.
    const real = { ...w.config, mode: 'real' as const };
    await w.sandbox.advance(MINUTE_MS);
    let clock = check(await doctor(real), 'clock');
    expect(clock.status).toBe('warn');
    expect(clock.data).toMatchObject({ skewSeconds: expect.any(Number) });
    expect(Math.abs((clock.data!.skewSeconds as number) + 60)).toBeLessThanOrEqual(2);
    expect(clock.message).toMatch(/this server's clock is (59|60|61|62) s behind WeChat's \(the Date header of 127\.0\.0\.1:\d+\)/);
    await w.sandbox.advance(9 * MINUTE_MS);
    clock = check(await doctor(real), 'clock');
    expect(clock.status).toBe('fail');
    expect(clock.message).toMatch(/pushes more than 300 s off are refused as stale/);
    expect(clock.fix).toMatch(/NTP/);
    // In sandbox mode the same skew is the simulator's clock/advance, not this machine's clock: no NTP advice.
    const simulated = check(await doctor(w.config), 'clock');
    expect(simulated.status).toBe('fail');
    expect(simulated.message).toMatch(/^the sandbox's clock is (599|600|601|602) s ahead of this server's, moved with clock\/advance \(the Date header of 127\.0\.0\.1:\d+\): pushes more than 300 s off are refused as stale/);
    expect(simulated.fix).toMatch(/^this machine's clock is fine: the simulator's was advanced; .*\*\.sandbox\.json/);
    expect(simulated.fix).not.toMatch(/NTP/);
  });

  it('without a Date header, the skew comes from the newest ticket’s CreateTime against its arrival', async () => {
    // Pushes this far off are refused, so such a ticket is stored only within the window: 2 min.
    await w.sandbox.advance(10 * MINUTE_MS);
    const now = w.sandbox.clock.now();
    expect(await w.store.recordTicket({ componentAppid: w.config.componentAppid, ticket: 'ticket@@@skewed', createTime: Math.floor(now / 1000) - 120, receivedAt: now })).toBe('stored');
    const [closed] = (await freePorts(1)) as [number];
    const report = await doctor({ ...w.config, apiBase: `http://127.0.0.1:${closed}` }, { clock: w.sandbox.clock });
    expect(check(report, 'clock')).toMatchObject({ status: 'warn', data: { skewSeconds: 120, source: "the newest ticket's CreateTime" } });
    expect(check(report, 'clock').message).toBe("this server's clock is 120 s ahead of WeChat's (the newest ticket's CreateTime): pushes are refused beyond 300 s");
  });

  it('an old ticket (sandbox clock moved on, no pushes since) warns after 30 min and fails after 12 h', async () => {
    // The doctor reads the platform's clock: the sandbox's, as the server that stored the ticket did.
    await w.sandbox.advance(HOUR_MS);
    let report = await doctor(w.config, { clock: w.sandbox.clock });
    expect(check(report, 'ticket')).toMatchObject({ status: 'warn', data: { ageSeconds: expect.any(Number) } });
    expect(check(report, 'ticket').message).toMatch(/^newest ticket received 60 min ago: WeChat pushes every 10 minutes/);
    await w.sandbox.advance(12 * HOUR_MS);
    report = await doctor(w.config, { clock: w.sandbox.clock });
    expect(check(report, 'ticket').status).toBe('fail');
    expect(check(report, 'ticket').message).toMatch(/expired \(valid 12 h\)/);
    // The stored token expired too, and a new one needs a usable ticket.
    expect(check(report, 'component-token')).toMatchObject({ status: 'fail' });
    expect(check(report, 'component-token').message).toMatch(/no usable component_verify_ticket/);
  });

  it('flags authorizers that need re-authorization or that WeChat no longer lists', async () => {
    const [a, b] = w.sandbox.accounts.filter((x) => x.type === 'miniprogram');
    await w.sandbox.authorize(a!.appid);
    await w.sandbox.authorize(b!.appid);
    await w.settle();
    await w.store.setAuthorizerStatus(w.config.componentAppid, a!.appid, 'needs_reauthorization', 'refresh token rejected (61023)', Date.now());
    await w.store.setAuthorizerStatus(w.config.componentAppid, b!.appid, 'missing_upstream', null, Date.now());
    const report = await doctor(w.config);
    const auth = check(report, 'authorizers');
    expect(auth.status).toBe('warn');
    expect(auth.message).toContain(`${a!.appid} (needs_reauthorization: refresh token rejected (61023))`);
    expect(auth.message).toContain(`${b!.appid} (missing_upstream)`);
    expect(auth.fix).toMatch(/new authorization link/);
    // Warnings alone keep the exit code 0.
    expect(report.ok).toBe(true);
  });

  it('the public URL: nothing listening fails; another service answering fails too', async () => {
    const [closed] = (await freePorts(1)) as [number];
    let pub = check(await doctor({ ...w.config, publicUrl: `http://127.0.0.1:${closed}` }), 'public-url');
    expect(pub).toMatchObject({ status: 'fail' });
    expect(pub.message).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${closed}/healthz is not reachable from this server: ECONNREFUSED`));
    expect(pub.fix).toMatch(/WXOPEN_PUBLIC_URL/);
    pub = check(await doctor({ ...w.config, publicUrl: w.sandbox.url }), 'public-url');
    expect(pub.status).toBe('fail');
    expect(pub.message).toMatch(/answered HTTP 404 but not as this platform/);
  });

  it('pending migrations warn; an unreachable Redis fails', async () => {
    const file = w.config.databaseUrl.slice('sqlite:'.length);
    const raw = new BetterSqlite3(file);
    const last = raw.prepare('select name from kysely_migration order by timestamp desc limit 1').get() as { name: string };
    raw.prepare('delete from kysely_migration where name = ?').run(last.name);
    raw.close();
    const [closed] = (await freePorts(1)) as [number];
    const report = await doctor({ ...w.config, redisUrl: `redis://127.0.0.1:${closed}` });
    expect(check(report, 'schema')).toMatchObject({ status: 'warn', data: { pending: [last.name] } });
    expect(check(report, 'schema').fix).toMatch(/wxopen serve/);
    expect(check(report, 'redis')).toMatchObject({ status: 'fail' });
    expect(check(report, 'redis').message).toMatch(new RegExp(`^redis://127\\.0\\.0\\.1:${closed}: ECONNREFUSED`));
  });
});

describe('wxopen doctor: the database', { timeout: 60_000 }, () => {
  const config = (env: Record<string, string>) => loadConfig({ LOG_LEVEL: 'silent', ...env });

  it('a SQLite file that does not exist fails (and is not created); the checks that need it are skipped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-doctor-'));
    const report = await doctor(config({ WXOPEN_DATABASE_URL: `sqlite:${join(dir, 'none.db')}` }));
    expect(check(report, 'database')).toMatchObject({ status: 'fail', message: `no database at ${join(dir, 'none.db')}` });
    for (const id of ['schema', 'database-write', 'ticket', 'component-token', 'egress-ip', 'authorizers'] as const) {
      expect(check(report, id)).toMatchObject({ status: 'skip', message: 'needs the database' });
    }
    expect(report.ok).toBe(false);
  });

  it('a stopped PostgreSQL (nothing listening) fails with one line naming it, password hidden', async () => {
    const [closed] = (await freePorts(1)) as [number];
    const report = await doctor(config({ WXOPEN_DATABASE_URL: `postgres://wx:s3cret@127.0.0.1:${closed}/wx` }));
    const db = check(report, 'database');
    expect(db.status).toBe('fail');
    expect(db.message).toBe(`cannot use postgres://***@127.0.0.1:${closed}/wx: ECONNREFUSED 127.0.0.1:${closed}`);
    expect(db.fix).toMatch(/start PostgreSQL/);
    expect(JSON.stringify(report)).not.toContain('s3cret');
  });

  it('a configuration error is the one failure; everything else is skipped', async () => {
    const report = await runDoctor({
      loadConfig: () => loadConfig({ WXOPEN_COMPONENT_APPID: 'nope' }),
    });
    expect(check(report, 'config').status).toBe('fail');
    expect(check(report, 'config').message).toMatch(/WXOPEN_COMPONENT_APPID must look like wx/);
    expect(report.summary).toEqual({ pass: 0, warn: 0, fail: 1, skip: 11 });
  });

  describe.skipIf(!PG_URL)('PostgreSQL', () => {
    const schema = uniqueSchema('wxo_doctor');
    afterAll(async () => {
      if (PG_URL) await dropSchema(PG_URL, schema);
    });

    it('a read-only PostgreSQL (a replica, default_transaction_read_only) answers but fails the write check', async () => {
      const store = await createStore(PG_URL!, { schema });
      await store.close();
      const url = new URL(PG_URL!);
      url.searchParams.set('options', `-c search_path=${schema} -c default_transaction_read_only=on`);
      const readOnly = await doctor(config({ WXOPEN_DATABASE_URL: url.toString() }));
      expect(statuses(readOnly)).toMatchObject({ database: 'pass', schema: 'pass', 'database-write': 'fail' });
      expect(check(readOnly, 'database-write').fix).toMatch(/read-only replica/);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const writable = await doctor(config({ WXOPEN_DATABASE_URL: url.toString() }));
      expect(statuses(writable)).toMatchObject({ database: 'pass', schema: 'pass', 'database-write': 'pass', ticket: 'fail' });
      expect(check(writable, 'ticket').message).toBe('no component_verify_ticket received yet');
    });
  });

  describe.skipIf(!REDIS_URL)('Redis', () => {
    it('a reachable Redis passes', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'wxopen-doctor-'));
      const report = await doctor(config({ WXOPEN_DATABASE_URL: `sqlite:${join(dir, 'none.db')}`, WXOPEN_REDIS_URL: REDIS_URL! }));
      expect(check(report, 'redis')).toMatchObject({ status: 'pass' });
    });
  });
});
