/**
 * The dashboard's sign-in over real HTTP: where it sends the operator afterwards (only to a path of this
 * site), and what a browser gets when its session runs out while a form is open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_TTL_MS } from '../../src/admin/session.js';
import { startAdminWorld, ADMIN_TOKEN, type AdminWorld } from '../helpers/admin-world.js';
import { BROWSER_ACCEPT } from '../helpers/accept.js';

const OA = 'wx3a7f2c9e1b4d6f80';
/** What a browser sends with a form it submits. */

let w: AdminWorld;
beforeAll(async () => {
  w = await startAdminWorld();
  await w.settle();
  await w.sandbox.authorize(OA, [1, 2, 15]);
  await w.settle();
});
afterAll(async () => {
  await w?.close();
});

const signIn = (next: string) => fetch(`${w.adminUrl}/login`, { method: 'POST', body: new URLSearchParams({ token: ADMIN_TOKEN, next }), redirect: 'manual' });

describe('dashboard sign-in', () => {
  it('returns to the page it was given, and never to another site', async () => {
    expect((await signIn(`/authorizers/${OA}?lang=en`)).headers.get('location')).toBe(`/authorizers/${OA}?lang=en`);
    // Browsers drop tabs and newlines from a URL and read a backslash as a slash: each of these is //evil.example.
    for (const next of ['//evil.example', '/\\evil.example', '/\t/evil.example', '/\n/evil.example', '/\r\n/evil.example', 'https://evil.example/', ' /x']) {
      const res = await signIn(next);
      expect([next, res.status, res.headers.get('location')]).toEqual([next, 303, '/']);
    }
  });
});

describe('a session that runs out while a form is open', () => {
  it('a posted form goes back to the login page, which says why and then returns to the form\'s page; programs still get JSON 401', async () => {
    const login = await signIn('/');
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const page = await fetch(`${w.adminUrl}/authorizers/${OA}`, { headers: { cookie } });
    expect(page.status).toBe(200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    await w.sandbox.advance(SESSION_TTL_MS + 60_000);

    // The browser posts the page's refresh form: the form's page (not its action) is where it comes back to, and
    // a notice left on that page by an earlier action is not carried along.
    const post = (path: string, headers: Record<string, string>, body: Record<string, string> = { csrf }) =>
      fetch(`${w.adminUrl}${path}`, { method: 'POST', headers: { cookie, origin: w.adminUrl, accept: BROWSER_ACCEPT, ...headers }, body: new URLSearchParams(body), redirect: 'manual' });
    const refused = await post(`/authorizers/${OA}/refresh`, { referer: `${w.adminUrl}/authorizers/${OA}?done=refreshed&lang=en` });
    expect(refused.status).toBe(303);
    const location = refused.headers.get('location')!;
    expect(location).toBe(`/login?next=%2Fauthorizers%2F${OA}%3Flang%3Den&expired=1`);

    const zh = await fetch(`${w.adminUrl}${location}`);
    expect(zh.status).toBe(200);
    const zhPage = await zh.text();
    expect(zhPage).toContain('<p class="alert" id="login-expired">登录已过期，刚才的操作没有执行。请重新登录后再试一次。</p>');
    expect(zhPage).toContain(`<input type="hidden" name="next" value="/authorizers/${OA}?lang=en">`);
    // English where the operator chose it in the nav (the language cookie), as on every dashboard page.
    const en = await (await fetch(`${w.adminUrl}${location}`, { headers: { cookie: 'wxopen_lang=en' } })).text();
    expect(en).toContain('Your session expired, so that action was not carried out. Sign in and try it again.');
    // A plain visit to the login page says nothing about an expiry.
    expect(await (await fetch(`${w.adminUrl}/login`)).text()).not.toContain('login-expired');

    const again = await signIn(`/authorizers/${OA}?lang=en`);
    expect(again.headers.get('location')).toBe(`/authorizers/${OA}?lang=en`);
    const fresh = again.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${w.adminUrl}${again.headers.get('location')!}`, { headers: { cookie: fresh } })).status).toBe(200);

    // Every dashboard form alike; without a Referer of this site the overview is where the operator returns.
    const next = async (path: string, headers: Record<string, string>) => new URL((await post(path, headers)).headers.get('location')!, w.adminUrl).searchParams.get('next');
    expect(await next('/deploys', { referer: `${w.adminUrl}/deploys/new` })).toBe('/deploys/new');
    expect(await next('/templates', { referer: `${w.adminUrl}/templates?error=x` })).toBe('/templates');
    expect(await next('/reconcile', {})).toBe('/');
    expect(await next('/reconcile', { referer: 'https://evil.example/deploys' })).toBe('/');
    expect(await next('/reconcile', { referer: `${w.adminUrl}//evil.example/x` })).toBe('/');

    // A GET of a dashboard page still answers the login page itself, coming back to that page.
    const get = await fetch(`${w.adminUrl}/authorizers/${OA}`, { headers: { cookie } });
    expect(get.status).toBe(401);
    expect(await get.text()).toContain(`<input type="hidden" name="next" value="/authorizers/${OA}">`);
    // Programs: the API and the OpenAPI document answer JSON whatever they accept, and so does a dashboard
    // address posted to by a script that does not ask for HTML.
    for (const [method, path, headers] of [
      ['POST', '/api/v1/reconcile', { accept: BROWSER_ACCEPT }],
      ['POST', '/api/v1/keys', { accept: BROWSER_ACCEPT }],
      ['GET', '/docs/json', { accept: BROWSER_ACCEPT }],
      ['GET', '/docs/yaml', { accept: BROWSER_ACCEPT }],
      ['POST', `/authorizers/${OA}/refresh`, { accept: 'application/json' }],
    ] as const) {
      const res = await fetch(`${w.adminUrl}${path}`, { method, headers: { cookie, origin: w.adminUrl, ...headers }, ...(method === 'POST' && { body: new URLSearchParams({ csrf }) }), redirect: 'manual' });
      expect([method, path, res.status, await res.text()]).toEqual([method, path, 401, '{"error":"WXO_ERR_UNAUTHORIZED"}']);
    }
  });
});
