import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as wxopen from '../../src/index.js';
import { ensureBuilt } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY_POINTS = {
  '.': 'dist/index',
  './crypto': 'dist/crypto/index',
  './store': 'dist/store/index',
  './sandbox': 'dist/sandbox/index',
  './web': 'dist/adapters/web',
  './express': 'dist/adapters/express',
  './koa': 'dist/adapters/koa',
  './fastify': 'dist/adapters/fastify',
};

/** Runs ESM code in a fresh node process inside the package, so `wxopen/*` resolves through package.json `exports`. */
function runInPackage(code: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
}

describe('package exports (the built dist, through package.json exports)', () => {
  beforeAll(() => ensureBuilt(Object.values(ENTRY_POINTS).map((e) => join(ROOT, `${e}.js`))), 180_000);

  it('every subpath in the exports map resolves to a built file with its types', async () => {
    const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as { exports: Record<string, { types: string; default: string }> };
    expect(Object.keys(pkg.exports).sort()).toEqual(Object.keys(ENTRY_POINTS).sort());
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      expect(existsSync(join(ROOT, target.default)), `${subpath} → ${target.default}`).toBe(true);
      expect(existsSync(join(ROOT, target.types)), `${subpath} → ${target.types}`).toBe(true);
    }
  });

  it("imports 'wxopen', 'wxopen/crypto', 'wxopen/store' and 'wxopen/sandbox' and uses them", () => {
    const r = runInPackage(`
      const wxopen = await import('wxopen');
      const crypto = await import('wxopen/crypto');
      const store = await import('wxopen/store');
      const sandbox = await import('wxopen/sandbox');
      const names = ['loadConfig', 'buildApp', 'startServer', 'Platform', 'openPlatform', 'createStore', 'signPush', 'openPush', 'WeChatApiError', 'TicketMissingError', 'RedisLockBackend', 'pcAuthUrl'];
      const missing = names.filter((n) => !(n in wxopen));
      // Round trip through the public crypto entry point.
      const key = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
      const sealed = crypto.encryptMessage('<xml>hi</xml>', key, 'wx0123456789abcdef');
      const opened = crypto.decryptMessage(sealed, key, 'wx0123456789abcdef').message;
      const s = await store.createStore('sqlite::memory:');
      await s.close();
      const sb = await sandbox.startSandbox({ ticketIntervalMs: 0 });
      const res = await fetch(sb.url + '/cgi-bin/component/api_component_token', { method: 'POST', body: '{}' });
      const body = await res.json();
      await sb.close();
      console.log(JSON.stringify({ missing, opened, secretBox: typeof crypto.SecretBox, sqlite: typeof store.createSqliteStore, errcode: body.errcode }));
    `);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toEqual({ missing: [], opened: '<xml>hi</xml>', secretBox: 'function', sqlite: 'function', errcode: expect.any(Number) });
  });

  it('does not expose internals outside the exports map', () => {
    const r = runInPackage(`await import('wxopen/dist/platform.js')`);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });
});

describe('authorization URLs', () => {
  it('builds the PC and mobile authorization URLs of spec 4.1/4.2', () => {
    const i = { componentAppid: 'wxc', preAuthCode: 'pre@@@1', redirectUri: 'https://a.example/authorize/callback?x=1' };
    expect(wxopen.pcAuthUrl('https://mp.weixin.qq.com', { ...i, authType: 2, categoryList: [17, 18] })).toBe(
      'https://mp.weixin.qq.com/cgi-bin/componentloginpage?component_appid=wxc&pre_auth_code=pre%40%40%401&redirect_uri=https%3A%2F%2Fa.example%2Fauthorize%2Fcallback%3Fx%3D1&auth_type=2&category_list=17%7C18',
    );
    // biz_appid and auth_type are exclusive: only biz_appid is sent.
    const mobile = wxopen.mobileAuthUrl('https://open.weixin.qq.com', { ...i, authType: 1, bizAppid: 'wx1234567890abcdef' });
    expect(mobile).toMatch(/^https:\/\/open\.weixin\.qq\.com\/wxaopen\/safe\/bindcomponent\?action=bindcomponent&no_scan=1&/);
    expect(mobile).toContain('biz_appid=wx1234567890abcdef');
    expect(mobile).not.toContain('auth_type');
    expect(mobile.endsWith('#wechat_redirect')).toBe(true);
  });
});
