import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminWorld, type AdminWorld } from '../helpers/admin-world.js';
import { BROWSER } from '../helpers/accept.js';

/** What a browser sends when someone types an address. */
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/** One request on its own socket, read until the server closes it: what HEAD really sends after its headers. */
function rawExchange(base: string, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Map<string, string>; body: string }> {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let raw = '';
    socket.on('data', (d) => (raw += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const at = raw.indexOf('\r\n\r\n');
      const lines = raw.slice(0, at).split('\r\n');
      const h = new Map(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [string, string]));
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0]!)?.[1]), headers: h, body: raw.slice(at + 4) });
    });
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Connection: close\r\n\r\n`);
  });
}

describe('an address that is not a page, opened in a browser', () => {
  let w: AdminWorld;
  beforeAll(async () => {
    w = await startAdminWorld();
  });
  afterAll(async () => w?.close());

  it('public listener: a page in the visitor’s language (Chinese first) with a way on; API clients keep JSON', async () => {
    const zh = await fetch(`${w.url}/no-such-page`, { headers: BROWSER });
    expect(zh.status).toBe(404);
    expect(zh.headers.get('content-type')).toMatch(/^text\/html/);
    const zhBody = await zh.text();
    expect(zhBody).toContain('页面不存在');
    expect(zhBody).toContain('<a class="button" href="/authorize">前往授权页</a>');
    expect(zhBody).not.toContain('授权未完成');

    const en = await fetch(`${w.url}/no-such-page`, { headers: { ...BROWSER, 'accept-language': 'en-US,en;q=0.9' } });
    expect(await en.text()).toContain('Go to the authorization page');

    // The query (here a push's signature sent to the wrong path) is not echoed back.
    const api = await fetch(`${w.url}/no-such-page?signature=abc123&msg_signature=def456`);
    expect(api.status).toBe(404);
    expect(await api.json()).toEqual({ error: 'WXO_ERR_NOT_FOUND', message: 'no route GET /no-such-page' });
  });

  it('public listener: every method at an unknown address is negotiated alike: the page for a browser, the project’s JSON for the rest', async () => {
    for (const method of METHODS) {
      const body = method === 'GET' ? undefined : 'x';
      const page = await fetch(`${w.url}/no-such-page?signature=abc123`, { method, headers: BROWSER, body });
      expect([method, page.status, page.headers.get('content-type')]).toEqual([method, 404, 'text/html; charset=utf-8']);
      const html = await page.text();
      expect(html).toContain('页面不存在');
      expect(html).not.toContain('abc123');
      const en = await fetch(`${w.url}/no-such-page`, { method, headers: { ...BROWSER, 'accept-language': 'en-US,en;q=0.9' }, body });
      expect(await en.text()).toContain('Go to the authorization page');

      for (const headers of [{}, { accept: 'application/json' }, { accept: '*/*' }] as Record<string, string>[]) {
        const json = await fetch(`${w.url}/no-such-page?signature=abc123`, { method, headers, body });
        expect([method, json.status, json.headers.get('content-type')]).toEqual([method, 404, 'application/json; charset=utf-8']);
        expect(await json.json()).toEqual({ error: 'WXO_ERR_NOT_FOUND', message: `no route ${method} /no-such-page` });
      }
    }
    // A page's address asked with a method it does not take.
    const authorize = await fetch(`${w.url}/authorize`, { method: 'POST', headers: BROWSER, body: 'x' });
    expect(authorize.status).toBe(404);
    expect(await authorize.text()).toContain('页面不存在');
    const authorizeApi = await fetch(`${w.url}/authorize`, { method: 'POST', body: 'x' });
    expect(await authorizeApi.json()).toEqual({ error: 'WXO_ERR_NOT_FOUND', message: 'no route POST /authorize' });
  });

  it('public listener: HEAD at an unknown address carries the headers GET would, and no body', async () => {
    for (const headers of [BROWSER, { accept: 'application/json' }, {}]) {
      const get = await rawExchange(w.url, 'GET', '/no-such-page?x=1', headers);
      const head = await rawExchange(w.url, 'HEAD', '/no-such-page?x=1', headers);
      expect(get.body.length).toBeGreaterThan(0);
      expect(get.headers.get('content-length')).toBe(String(Buffer.byteLength(Buffer.from(get.body, 'latin1'))));
      expect([head.status, head.headers.get('content-type'), head.headers.get('content-length')]).toEqual([404, get.headers.get('content-type'), get.headers.get('content-length')]);
      expect(head.body).toBe('');
    }
  });

  it('public listener: no method at any address crashes it or answers with Fastify’s default body', async () => {
    const paths = ['/no-such-page', '/authorize', '/authorize/go', '/authorize/callback', '/healthz', '/wechat/component', '/wechat/authorizer/wx0000000000000000', '/wechat/nope', '/wxa/wx0000000000000000/login', '/'];
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'SEARCH', 'TRACE']) {
      for (const path of paths) {
        for (const headers of [BROWSER, {}]) {
          const a = await rawExchange(w.url, method, path, headers);
          expect([method, path, a.status < 500]).toEqual([method, path, true]);
          expect(a.body).not.toContain('"statusCode"');
          if (method === 'HEAD') expect(a.body).toBe('');
        }
      }
    }
    expect((await fetch(`${w.url}/healthz`)).status).toBe(200);
  });

  it('operator listener: no session → the login page that comes back here; a session → a 404 page back to the dashboard; API clients keep JSON', async () => {
    const anon = await fetch(`${w.adminUrl}/no-such-page`, { headers: BROWSER });
    expect(anon.status).toBe(401);
    expect(anon.headers.get('content-type')).toMatch(/^text\/html/);
    const login = await anon.text();
    expect(login).toContain('<form method="post" action="/login">');
    expect(login).toContain('name="next" value="/no-such-page"');

    const anonApi = await fetch(`${w.adminUrl}/no-such-page`);
    expect(anonApi.status).toBe(401);
    expect(await anonApi.json()).toEqual({ error: 'WXO_ERR_UNAUTHORIZED' });

    const page = await w.api('/no-such-page', { headers: BROWSER });
    expect(page.status).toBe(404);
    const body = await page.text();
    expect(body).toContain('页面不存在');
    expect(body).toContain('<a class="button" href="/">返回运营后台</a>');
    // An operator has no authorization page to start from: the way on is the dashboard overview.
    expect(body).toContain('请检查地址，或从运营后台概览开始。');
    expect(body).not.toContain('授权页');
    const en = await w.api('/no-such-page', { headers: { ...BROWSER, 'accept-language': 'en' } });
    const enBody = await en.text();
    expect(enBody).toContain('Check the address, or start from the dashboard overview.');
    expect(enBody).not.toContain('authorization page');

    const json = await w.api('/no-such-page');
    expect(json.status).toBe(404);
    expect(await json.json()).toEqual({ error: 'WXO_ERR_NOT_FOUND' });

    // A form posted to a wrong address is read by a person too.
    const posted = await w.api('/no-such-page', { method: 'POST', headers: { ...BROWSER, 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' });
    expect(posted.status).toBe(404);
    expect(await posted.text()).toContain('页面不存在');
  });

  it('operator listener: API addresses answer programs in JSON whatever the Accept; pages answer a browser with the login page', async () => {
    for (const path of ['/api/v1', '/api/v1/authorizers', '/api/v1/no-such-thing', '/docs/json']) {
      for (const headers of [BROWSER, {}]) {
        const anon = await fetch(`${w.adminUrl}${path}`, { headers });
        expect([path, anon.status, anon.headers.get('content-type'), anon.headers.get('www-authenticate')]).toEqual([path, 401, 'application/json; charset=utf-8', 'Bearer']);
        expect(await anon.json()).toEqual({ error: 'WXO_ERR_UNAUTHORIZED' });
      }
    }
    for (const path of ['/', '/docs', '/no-such-page']) {
      const anon = await fetch(`${w.adminUrl}${path}`, { headers: BROWSER });
      expect([path, anon.status, anon.headers.get('content-type')]).toEqual([path, 401, 'text/html; charset=utf-8']);
      expect(await anon.text()).toContain(`name="next" value="${path}"`);
      // HEAD carries what GET would.
      const get = await rawExchange(w.adminUrl, 'GET', path, BROWSER);
      const head = await rawExchange(w.adminUrl, 'HEAD', path, BROWSER);
      expect([head.status, head.headers.get('content-type'), head.headers.get('content-length')]).toEqual([401, get.headers.get('content-type'), get.headers.get('content-length')]);
      expect(head.body).toBe('');
    }
    // Signed in, an unknown API address is still a JSON 404, not a page.
    const missing = await w.api('/api/v1/no-such-thing', { headers: BROWSER });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'WXO_ERR_NOT_FOUND' });
  });
});
