/**
 * The dashboard's authorizer page as an operator's browser gets it: the authorization time reads like every other
 * time on the dashboard (relative, the exact time on hover), and an appid with no record gets a page in the
 * dashboard's layout that says so and leads back to the list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionCookie, startAdminWorld, type AdminWorld } from '../helpers/admin-world.js';
import { BROWSER } from '../helpers/accept.js';

const OA = 'wx3a7f2c9e1b4d6f80';

let w: AdminWorld;
let cookie: string;
beforeAll(async () => {
  w = await startAdminWorld();
  await w.settle();
  await w.sandbox.authorize(OA, [1, 2, 15]);
  await w.settle();
  cookie = await sessionCookie(w.adminUrl);
});
afterAll(async () => {
  await w?.close();
});

const page = (path: string, lang = 'zh-CN') => fetch(`${w.adminUrl}${path}`, { headers: { ...BROWSER, 'accept-language': lang, cookie } });

describe('the authorizer page', () => {
  it('shows the authorization time as a relative time, with the exact time in its title', async () => {
    const res = await page(`/authorizers/${OA}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    const cell = /<tr><th>授权时间<\/th><td id="authorized-at">(.*?)<\/td><\/tr>/.exec(html)?.[1];
    expect(cell).toMatch(/^<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z" title="\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC[+-]\d\d:\d\d">\d+ 秒前<\/time>$/);
    expect(html).not.toMatch(/<td>\d{4}-\d\d-\d\dT[\d:.]+Z<\/td>/);
    const en = await (await page(`/authorizers/${OA}`, 'en')).text();
    expect(en).toMatch(/<td id="authorized-at"><time datetime="[^"]+" title="[^"]+">\d+ s ago<\/time><\/td>/);
  });

  it('for an appid with no record: a dashboard page saying it has not authorized this platform, with a way back to the list', async () => {
    const res = await page('/authorizers/wx0000000000000000');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<nav>');
    expect(html).toContain('<h1>未找到授权方</h1>');
    expect(html).toContain('wx0000000000000000 尚未授权本平台：没有它的记录。');
    expect(html).toContain('<a class="button" href="/">返回授权方列表</a>');
    const en = await (await page('/authorizers/wx0000000000000000', 'en')).text();
    expect(en).toContain('wx0000000000000000 has not authorized this platform: there is no record of it.');
    expect(en).toContain('<a class="button" href="/">Back to the authorizer list</a>');
    // Whatever is typed in the address comes back escaped.
    const odd = await (await page('/authorizers/%3Cb%3Ex')).text();
    expect(odd).toContain('&lt;b&gt;x 尚未授权本平台');
  });
});
