/**
 * In sandbox mode nothing a browser loads leaves the machine: the merchant's callback page and the dashboard's
 * authorizer page show the account's avatar from the simulator, which serves it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionCookie, startAdminWorld, type AdminWorld } from '../helpers/admin-world.js';
import { formOf } from '../helpers/sandbox-form.js';
import { BROWSER } from '../helpers/accept.js';

const OA = 'wx3a7f2c9e1b4d6f80';

let w: AdminWorld;
let cookie: string;
beforeAll(async () => {
  w = await startAdminWorld();
  await w.settle();
  cookie = await sessionCookie(w.adminUrl);
});
afterAll(async () => {
  await w?.close();
});

const avatarOf = (html: string) => /<img class="avatar" src="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&');

async function expectServedAvatar(src: string | undefined, userName: string): Promise<void> {
  expect(src).toBe(`${w.sandbox.url}/mmopen/${userName}/0`);
  const res = await fetch(src!);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
  expect(await res.text()).toMatch(/^<svg /);
}

describe('sandbox avatars in the pages', () => {
  const userName = () => w.sandbox.accounts.find((a) => a.appid === OA)!.userName;

  it('the callback page shows the avatar from the sandbox, which answers it', async () => {
    const go = await fetch(`${w.url}/authorize/go?auth_type=1`, { redirect: 'manual' });
    const form = formOf(await (await fetch(go.headers.get('location')!, { headers: { referer: `${w.url}/authorize` } })).text());
    const body = new URLSearchParams([...form.fields, ['authorizer_appid', OA], ['func', '1'], ['func', '2']]);
    const confirm = await fetch(new URL(form.action, w.sandbox.url), { method: 'POST', body, redirect: 'manual' });
    const html = await (await fetch(confirm.headers.get('location')!, { headers: BROWSER })).text();
    await w.settle();
    expect(html).not.toContain('qlogo');
    await expectServedAvatar(avatarOf(html), userName());
  });

  it('the dashboard shows it too, and a qlogo address stored by an older sandbox is shown from this one', async () => {
    const page = async () => (await fetch(`${w.adminUrl}/authorizers/${OA}`, { headers: { ...BROWSER, cookie } })).text();
    await expectServedAvatar(avatarOf(await page()), userName());
    const record = (await w.store.getAuthorizer(w.config.componentAppid, OA))!;
    await w.store.updateAuthorizerInfo(w.config.componentAppid, OA, { ...record.info, head_img: `http://wx.qlogo.cn/mmopen/${userName()}/0` }, w.sandbox.clock.now());
    const html = await page();
    expect(html).not.toContain('qlogo');
    await expectServedAvatar(avatarOf(html), userName());
  });
});
