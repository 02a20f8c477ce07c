import { Agent, request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startWorld, type World } from '../helpers/world.js';

const PREAUTH = '/cgi-bin/component/api_create_preauthcode';
const QUERY_AUTH = '/cgi-bin/component/api_query_auth';
const COMPONENT_TOKEN = '/cgi-bin/component/api_component_token';

function gc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** GET over real HTTP on keep-alive sockets (app.inject itself retains ~10 KB per request in vitest). */
function getter(base: string): { get(path: string): Promise<{ status: number; body: string }>; close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const { hostname, port } = new URL(base);
  return {
    get: (path) =>
      new Promise((resolve, reject) => {
        request({ host: hostname, port, path, agent }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        })
          .on('error', reject)
          .end();
      }),
    close: () => agent.destroy(),
  };
}

/** The state our /authorize/go put in the redirect_uri it sent the browser to WeChat with. */
async function linkState(w: World, headers: Record<string, string> = {}): Promise<{ status: number; state?: string; location?: string }> {
  const go = await fetch(`${w.url}/authorize/go?auth_type=2`, { redirect: 'manual', headers });
  if (go.status !== 302) return { status: go.status };
  const location = go.headers.get('location')!;
  const redirect = new URL(new URL(location).searchParams.get('redirect_uri')!);
  return { status: go.status, state: redirect.searchParams.get('state')!, location };
}

/** The admin confirms on the sandbox's page; returns the callback URL WeChat sends the browser to. */
async function confirm(w: World, location: string): Promise<URL> {
  const html = await (await fetch(location, { headers: { referer: `${w.url}/authorize` } })).text();
  const action = /<form method="post" action="([^"]+)"/.exec(html)![1]!;
  const fields = [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!.replaceAll('&amp;', '&')] as [string, string]);
  const appid = /name="authorizer_appid" value="([^"]+)"/.exec(html)![1]!;
  const body = new URLSearchParams([...fields, ['authorizer_appid', appid], ['func', '17']]);
  const res = await fetch(new URL(action, w.sandbox.url), { method: 'POST', body, redirect: 'manual' });
  return new URL(res.headers.get('location')!);
}

describe('anonymous visitors cannot spend WeChat quota or memory through /authorize', () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('refuses 5,000 junk callbacks (no state, forged, tampered, expired) with no upstream call and no memory kept', async () => {
    w = await startWorld();
    await w.settle();
    const { state } = await linkState(w);
    const [exp, nonce, mac] = state!.split('.');
    const tampered = `${exp}.${nonce}.${mac!.slice(0, -1)}${mac!.endsWith('A') ? 'B' : 'A'}`;
    const forged = `${Number(exp) + 10_000}.${nonce}.${mac}`;
    const before = { query: w.sandbox.counters.get(QUERY_AUTH), token: w.sandbox.counters.get(COMPONENT_TOKEN) };
    const exchanges = (w.platform as unknown as { codeExchanges: Map<string, unknown> }).codeExchanges;
    const collect = gc();
    const http = getter(w.url);
    const variants = ['', `&state=${tampered}`, `&state=${forged}`, '&state=1.2.3', `&state=${'9'.repeat(12)}.${'a'.repeat(22)}.${'b'.repeat(43)}`];
    const statuses = new Map<number, number>();
    const junk = async (from: number, to: number) => {
      for (let i = from; i < to; i += 8) {
        const batch = [];
        for (let j = i; j < Math.min(i + 8, to); j++) batch.push(http.get(`/authorize/callback?auth_code=queryauthcode@@@junk${j}x${'y'.repeat(200)}${variants[j % variants.length]}`));
        for (const res of await Promise.all(batch)) {
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(res.body).toContain('不是本平台的授权链接');
        }
      }
    };
    // Warm up (compiled code, sockets, caches) before measuring the heap.
    await junk(0, 200);
    collect();
    const heapBefore = process.memoryUsage().heapUsed;
    await junk(200, 5200);
    collect();
    const grown = process.memoryUsage().heapUsed - heapBefore;
    http.close();
    expect(Object.fromEntries(statuses)).toEqual({ 400: 5200 });
    expect(w.sandbox.counters.get(QUERY_AUTH)).toBe(before.query);
    expect(w.sandbox.counters.get(COMPONENT_TOKEN)).toBe(before.token);
    expect(exchanges.size).toBe(0);
    // Before: ~2.7 KB per junk code kept 10 minutes (~13 MB here). Generous bound for GC and socket noise.
    expect(grown).toBeLessThan(5 * 1024 * 1024);
  }, 120_000);

  it('a valid link allows one exchange: a reload shares it, another code is refused, an expired link is refused, all without a second call', async () => {
    w = await startWorld();
    await w.settle();
    const link = await linkState(w);
    const callback = await confirm(w, link.location!);
    expect(callback.searchParams.get('state')).toBe(link.state);
    const ok = await fetch(callback);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('授权成功');
    await w.settle();
    const exchanged = w.sandbox.counters.get(QUERY_AUTH);
    expect(exchanged).toBe(1);

    const reload = await fetch(callback);
    expect(reload.status).toBe(200);
    const other = await fetch(`${w.url}/authorize/callback?state=${link.state}&auth_code=queryauthcode@@@other`);
    expect(other.status).toBe(400);
    expect(await other.text()).toContain('链接已使用');
    expect(w.sandbox.counters.get(QUERY_AUTH)).toBe(exchanged);

    const late = await linkState(w);
    await w.sandbox.advance(61 * 60_000);
    const expired = await fetch(`${w.url}/authorize/callback?state=${late.state}&auth_code=queryauthcode@@@late`);
    expect(expired.status).toBe(400);
    expect(await expired.text()).toContain('state_expired');
    expect(w.sandbox.counters.get(QUERY_AUTH)).toBe(exchanged);
  });

  it('rate-limits link creation per client (429 + Retry-After), and X-Forwarded-For does not dodge it by default', async () => {
    w = await startWorld({ env: { WXOPEN_AUTHORIZE_LINKS_PER_MINUTE: '5' } });
    await w.settle();
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await linkState(w, { 'x-forwarded-for': `203.0.113.${i}` })).status);
    expect(statuses).toEqual([302, 302, 302, 302, 302, 429, 429, 429]);
    expect(w.sandbox.counters.get(PREAUTH)).toBe(5);
    const refused = await fetch(`${w.url}/authorize/go?auth_type=2`, { redirect: 'manual' });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    // The page tells the merchant the wait the header gives, in both languages.
    expect(await refused.text()).toContain(`<p id="todo"><strong>请 ${retryAfter} 秒后再试。</strong></p>`);
    const en = await fetch(`${w.url}/authorize/go?auth_type=2`, { redirect: 'manual', headers: { 'accept-language': 'en' } });
    const enWait = Number(en.headers.get('retry-after'));
    expect(await en.text()).toContain(`<p id="todo"><strong>Try again in ${enWait} second${enWait === 1 ? '' : 's'}.</strong></p>`);
    // The bucket refills with time (the sandbox's clock drives the platform's).
    await w.sandbox.advance(60_000);
    expect((await linkState(w)).status).toBe(302);
  });

  it('with WXOPEN_TRUST_PROXY naming the proxy, clients are told apart by X-Forwarded-For and the total still caps them', async () => {
    w = await startWorld({ env: { WXOPEN_TRUST_PROXY: '127.0.0.1', WXOPEN_AUTHORIZE_LINKS_PER_MINUTE: '2', WXOPEN_AUTHORIZE_LINKS_PER_MINUTE_TOTAL: '5' } });
    await w.settle();
    const a = [];
    for (let i = 0; i < 3; i++) a.push((await linkState(w, { 'x-forwarded-for': '203.0.113.1' })).status);
    expect(a).toEqual([302, 302, 429]);
    const others = [];
    for (let i = 2; i < 8; i++) others.push((await linkState(w, { 'x-forwarded-for': `203.0.113.${i}` })).status);
    expect(others).toEqual([302, 302, 302, 429, 429, 429]);
    expect(w.sandbox.counters.get(PREAUTH)).toBe(5);
  });

  it('WXOPEN_TRUST_PROXY accepts true/false, a hop count or IPs/CIDRs, and is false by default', () => {
    const base = { WXOPEN_DATABASE_URL: 'sqlite::memory:' };
    expect(loadConfig(base).trustProxy).toBe(false);
    expect(loadConfig({ ...base, WXOPEN_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ ...base, WXOPEN_TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ ...base, WXOPEN_TRUST_PROXY: '10.0.0.0/8, ::1,192.168.1.7' }).trustProxy).toEqual(['10.0.0.0/8', '::1', '192.168.1.7']);
    expect(() => loadConfig({ ...base, WXOPEN_TRUST_PROXY: 'yes please' })).toThrow(/WXOPEN_TRUST_PROXY/);
    expect(() => loadConfig({ ...base, WXOPEN_TRUST_PROXY: '10.0.0.0/40' })).toThrow(/WXOPEN_TRUST_PROXY/);
  });
});
