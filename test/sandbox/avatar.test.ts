/**
 * The sandbox is offline: the avatars it hands out (api_get_authorizer_info `head_img`, getaccountbasicinfo
 * `head_image_url`) are on its own host, at qlogo's path, and it serves them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { defaultAccounts } from '../../src/sandbox/index.js';
import { authorizedToken, call, COMPONENT, componentToken, MP, OA, startWorld, type World } from './helpers.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function headImg(w: World, appid: string): Promise<string> {
  const cat = await componentToken(w.sandbox);
  await authorizedToken(w.sandbox, cat, appid, appid === MP ? [17, 18] : [1, 2]);
  const r = await call(w.sandbox.url, '/cgi-bin/component/api_get_authorizer_info', {
    query: { component_access_token: cat },
    body: { component_appid: COMPONENT.appid, authorizer_appid: appid },
  });
  return String((r.json.authorizer_info as Record<string, unknown>).head_img);
}

describe('sandbox avatars', () => {
  it('head_img is on the sandbox itself, at qlogo’s path, and answers a small cacheable SVG with the account’s initial', async () => {
    world = await startWorld();
    const account = world.sandbox.accounts.find((a) => a.appid === OA)!;
    const url = await headImg(world, OA);
    expect(url).toBe(`${world.sandbox.url}/mmopen/${account.userName}/0`);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(res.headers.get('cache-control')).toMatch(/max-age=\d{4,}/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const svg = await res.text();
    expect(svg.length).toBeLessThan(1024);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[^>]*>.*<\/svg>$/s);
    expect(svg).toContain(`>${[...account.nickName][0]}</text>`);
    expect(svg).not.toMatch(/<script|href=/i);
    // Other qlogo sizes too; the browser's fetch is not an API call in the counters.
    expect((await fetch(url.replace(/\/0$/, '/132'))).status).toBe(200);
    expect(JSON.stringify(world.sandbox.counters.all())).not.toContain('mmopen');
  });

  it('getaccountbasicinfo names the same address', async () => {
    world = await startWorld();
    const cat = await componentToken(world.sandbox);
    const { aat } = await authorizedToken(world.sandbox, cat, MP, [17, 18, 30]);
    const r = await call(world.sandbox.url, '/cgi-bin/account/getaccountbasicinfo', { method: 'POST', query: { access_token: aat } });
    const userName = world.sandbox.accounts.find((a) => a.appid === MP)!.userName;
    expect((r.json.head_image_info as Record<string, unknown>).head_image_url).toBe(`${world.sandbox.url}/mmopen/${userName}/0`);
  });

  it('unknown gh_ ids and sizes are 404; a configured name is escaped, not markup', async () => {
    const accounts = defaultAccounts().map((a) => (a.appid === OA ? { ...a, nickName: '<img src=x onerror=alert(1)>' } : a));
    world = await startWorld({ accounts });
    const url = await headImg(world, OA);
    const svg = await (await fetch(url)).text();
    expect(svg).toContain('>&lt;</text>');
    expect(svg).not.toContain('<img');
    expect((await fetch(`${world.sandbox.url}/mmopen/gh_000000000000/0`)).status).toBe(404);
    expect((await fetch(`${world.sandbox.url}/mmopen/%3Csvg%3E/0`)).status).toBe(404);
    expect((await fetch(url.replace(/\/0$/, '/7'))).status).toBe(404);
  });

  it('publicUrl names the host browsers use', async () => {
    world = await startWorld({ publicUrl: 'http://localhost:9/' });
    const url = await headImg(world, OA);
    expect(url).toMatch(/^http:\/\/localhost:9\/mmopen\/gh_\w+\/0$/);
  });
});
