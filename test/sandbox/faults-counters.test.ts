import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { egressIpFrom } from '../../src/api/errors.js';
import { authorizedToken, call, COMPONENT, componentToken, MP, OA, startWorld, type World } from './helpers.js';

const PREAUTH = '/cgi-bin/component/api_create_preauthcode';

describe('counters, fault injection and the admin API', () => {
  let world: World;
  let cat: string;
  beforeEach(async () => {
    world = await startWorld();
    cat = await componentToken(world.sandbox);
  });
  afterEach(async () => world.close());
  beforeEach(() => world.sandbox.faults.clear());

  const preauth = () => call(world.sandbox.url, PREAUTH, { query: { component_access_token: cat }, body: { component_appid: COMPONENT.appid } });
  const admin = (path: string, body?: unknown, method?: 'GET' | 'POST') =>
    call(world.sandbox.url, `/sandbox/admin${path}`, { ...(body !== undefined && { body }), ...(method && { method }) });

  it('counts every upstream call by path and by appid, including failed ones', async () => {
    world.sandbox.counters.reset();
    const { aat } = await authorizedToken(world.sandbox, cat, MP, [18]);
    await call(world.sandbox.url, '/wxa/get_category', { query: { access_token: aat } });
    await call(world.sandbox.url, '/wxa/get_category', { query: { access_token: aat } });
    await call(world.sandbox.url, '/wxa/get_category', { query: { access_token: 'unknown-token-unknown-token' } });
    await preauth();
    expect(world.sandbox.counters.get('/wxa/get_category')).toBe(3);
    expect(world.sandbox.counters.get('/wxa/get_category', MP)).toBe(2);
    expect(world.sandbox.counters.get('/wxa/get_category', OA)).toBe(0);
    expect(world.sandbox.counters.get('/cgi-bin/component/api_query_auth')).toBe(1);
    expect(world.sandbox.counters.get(PREAUTH, COMPONENT.appid)).toBe(1);
    const http = await admin('/counters');
    expect((http.json.byPath as Record<string, number>)['/wxa/get_category']).toBe(3);
    expect((http.json.byPathAndAppid as Record<string, Record<string, number>>)['/wxa/get_category']).toEqual({ [MP]: 2 });
    await admin('/counters/reset', {});
    expect(world.sandbox.counters.get('/wxa/get_category')).toBe(0);
    // Admin calls are not upstream calls.
    expect(world.sandbox.counters.get('/sandbox/admin/counters')).toBe(0);
  });

  it('system_busy answers errcode -1 for `times` calls, then recovers', async () => {
    world.sandbox.faults.set(PREAUTH, { type: 'system_busy', times: 2 });
    expect((await preauth()).errcode).toBe(-1);
    expect((await preauth()).errcode).toBe(-1);
    expect((await preauth()).errcode).toBe(0);
  });

  it('ip_not_whitelisted answers 61004 naming the caller, in WeChat\'s words, which the client reads the IP from', async () => {
    world.sandbox.faults.set(PREAUTH, { type: 'ip_not_whitelisted', times: 1 });
    const r = await preauth();
    expect(r.json.errcode).toBe(61004);
    expect(r.json.errmsg).toMatch(/^invalid ip 127\.0\.0\.1 ipv6 ::ffff:127\.0\.0\.1, not in whitelist rid: [\w-]+$/);
    expect(egressIpFrom(String(r.json.errmsg))).toBe('127.0.0.1');
    expect((await preauth()).errcode).toBe(0);
    await expect(admin('/faults', { path: PREAUTH, type: 'ip_not_whitelisted' })).resolves.toMatchObject({ status: 200 });
    expect((await preauth()).errcode).toBe(61004);
  });

  it('answers carry a Date header from the sandbox clock, so advancing it looks like a skewed WeChat clock', async () => {
    /** The Date of one answer, with the sandbox time before and after it (the header has whole seconds). */
    const dated = async () => {
      const from = Math.floor(world.sandbox.clock.now() / 1000) * 1000;
      const date = Date.parse((await fetch(`${world.sandbox.url}/cgi-bin/getcallbackip`)).headers.get('date')!);
      return { from, date, to: world.sandbox.clock.now() };
    };
    const first = await dated();
    expect(first.date).toBeGreaterThanOrEqual(first.from);
    expect(first.date).toBeLessThanOrEqual(first.to);
    await world.sandbox.advance(3_600_000);
    const later = await dated();
    expect(later.date).toBeGreaterThanOrEqual(later.from);
    expect(later.date).toBeLessThanOrEqual(later.to);
    expect(later.date - first.date).toBeGreaterThanOrEqual(3_600_000);
  });

  it('http_error answers a 5xx without a WeChat body', async () => {
    world.sandbox.faults.set(PREAUTH, { type: 'http_error', status: 503 });
    const r = await preauth();
    expect(r.status).toBe(503);
    expect(r.json.errcode).toBeUndefined();
    world.sandbox.faults.clear(PREAUTH);
    expect((await preauth()).status).toBe(200);
  });

  it('drop destroys the connection', async () => {
    world.sandbox.faults.set(PREAUTH, { type: 'drop', times: 1 });
    await expect(preauth()).rejects.toThrow();
    expect((await preauth()).errcode).toBe(0);
  });

  it('latency delays the answer', async () => {
    world.sandbox.faults.set(PREAUTH, { type: 'latency', ms: 250 });
    const started = Date.now();
    expect((await preauth()).errcode).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
  });

  it('rate_limit answers 45011 after N calls a minute, per appid when asked', async () => {
    const { aat } = await authorizedToken(world.sandbox, cat, MP, [18]);
    const { aat: oaToken } = await authorizedToken(world.sandbox, cat, OA, [1]);
    world.sandbox.faults.set('/cgi-bin/ticket/getticket', { type: 'rate_limit', perMinute: 2, appid: MP });
    const ticket = (token: string) => call(world.sandbox.url, '/cgi-bin/ticket/getticket', { query: { access_token: token, type: 'jsapi' } });
    expect((await ticket(aat)).errcode).toBe(0);
    expect((await ticket(aat)).errcode).toBe(0);
    expect((await ticket(aat)).errcode).toBe(45011);
    for (let i = 0; i < 3; i++) expect((await ticket(oaToken)).errcode).toBe(0);
    // The window is a minute of sandbox time from its first call, to the millisecond.
    await world.sandbox.advance(60_000 - 1);
    expect((await ticket(aat)).errcode).toBe(45011);
    await world.sandbox.advance(1);
    expect((await ticket(aat)).errcode).toBe(0);
  });

  it('admin endpoints set and clear faults, advance the clock and push tickets', async () => {
    const set = await admin('/faults', { path: PREAUTH, type: 'system_busy' });
    expect(set.json.faults).toEqual([{ path: PREAUTH, fault: { type: 'system_busy' } }]);
    expect((await preauth()).errcode).toBe(-1);
    expect((await admin('/faults', { path: PREAUTH, type: 'http_error', status: 200 })).status).toBe(400);
    const cleared = await fetch(`${world.sandbox.url}/sandbox/admin/faults`, { method: 'DELETE' });
    expect(await cleared.json()).toEqual({ faults: [] });
    expect((await preauth()).errcode).toBe(0);

    const before = world.platform.pushes.length;
    const clock = await admin('/clock/advance', { seconds: 601 });
    expect(Number(clock.json.offset_ms)).toBeGreaterThanOrEqual(601_000);
    expect(world.platform.pushes.slice(before).some((p) => p.fields.InfoType === 'component_verify_ticket')).toBe(true);
    const pushed = await admin('/push-ticket', {});
    expect(pushed.json.ticket).toBe(world.sandbox.state.latestTicket);

    await authorizedToken(world.sandbox, cat, OA, [1]);
    const code = await admin('/js-code', { appid: MP });
    expect(typeof code.json.js_code).toBe('string');
    const auth = await admin('/authorize', { appid: OA, func_ids: [1, 15] });
    expect(auth.json.event).toBe('updateauthorized');
    expect((await admin('/authorize', { appid: 'nope' })).status).toBe(400);
    expect((await admin('/revoke', { appid: OA })).json.delivery).toMatchObject({ ok: true, status: 200 });
    expect((await admin('')).json.endpoints).toEqual(expect.arrayContaining([expect.stringContaining('/sandbox/admin/clock/advance')]));
  });

  it('answers unknown paths with 404 and a WeChat error body', async () => {
    const r = await call(world.sandbox.url, '/cgi-bin/component/no_such_api', { body: {} });
    expect(r.status).toBe(404);
    expect(r.errcode).toBe(40066);
  });
});
