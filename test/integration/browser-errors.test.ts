import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminWorld, type AdminWorld } from '../helpers/admin-world.js';

/** What a browser sends when someone types an address. */
const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

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
    expect(await api.json()).toEqual({ message: 'Route GET:/no-such-page not found', error: 'Not Found', statusCode: 404 });
    const post = await fetch(`${w.url}/no-such-page`, { method: 'POST', headers: BROWSER, body: 'x' });
    expect(post.status).toBe(404);
    expect(post.headers.get('content-type')).toMatch(/json/);
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
    expect(await anonApi.json()).toEqual({ error: 'unauthorized' });

    const page = await w.api('/no-such-page', { headers: BROWSER });
    expect(page.status).toBe(404);
    const body = await page.text();
    expect(body).toContain('页面不存在');
    expect(body).toContain('<a class="button" href="/">返回运营后台</a>');

    const json = await w.api('/no-such-page');
    expect(json.status).toBe(404);
    expect(await json.json()).toEqual({ error: 'not_found' });
  });
});
