import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ensureBuilt } from '../helpers/cli.js';
import { createStore } from '../../src/store/create-store.js';
import { freePorts } from '../helpers/ports.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// The compiled CLI (as `npx wxopen` runs it), rebuilt when src is newer.
const TSX = process.execPath;
beforeAll(() => ensureBuilt(), 180_000);

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(TSX, [BIN, ...args], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, encoding: 'utf8', timeout: 120_000 });
}

describe('wxopen CLI', { timeout: 300_000 }, () => {
  const children: ReturnType<typeof spawn>[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGTERM');
  });

  it('prints help for every command', { timeout: 120_000 }, () => {
    for (const args of [['--help'], ['serve', '--help'], ['dev', '--help'], ['dev', 'push-ticket', '--help'], ['config', '--help'], ['token', '--help'], ['token', 'component', '--help'], ['token', 'authorizer', '--help'], ['sandbox', '--help']]) {
      const r = cli(args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/Usage: wxopen/);
    }
  });

  it('fails at start with one line naming the bad variable', () => {
    const r = cli(['serve'], { WXOPEN_COMPONENT_APPID: 'wx1234567890abcdef', WXOPEN_COMPONENT_SECRET: 'x'.repeat(32), WXOPEN_TOKEN: 'tok', WXOPEN_ENCODING_AES_KEY: 'short', WXOPEN_PUBLIC_URL: 'https://a.example', WXOPEN_SECRET_KEY: 'ab'.repeat(32) });
    expect(r.status).toBe(78);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^wxopen: invalid configuration: WXOPEN_ENCODING_AES_KEY must be 43 characters/)]);
  });

  it('serve and doctor refuse the sandbox block pasted into real mode, naming each demo value', () => {
    const pasted = { NODE_ENV: 'production', WXOPEN_COMPONENT_APPID: 'wx1234567890abcdef', WXOPEN_COMPONENT_SECRET: 'x'.repeat(32), WXOPEN_TOKEN: 'wxopensandboxtoken', WXOPEN_ENCODING_AES_KEY: 'c2FuZGJveGVuY29kaW5nYWVza2V5Zm9yd3hvcGVuMDA', WXOPEN_PUBLIC_URL: 'https://a.example', WXOPEN_SECRET_KEY: '5a'.repeat(32), WXOPEN_DATABASE_URL: `sqlite:${join(mkdtempSync(join(tmpdir(), 'wxopen-demo-')), 'wx.db')}` };
    const r = cli(['serve', '--port', '0'], pasted);
    expect(r.status).toBe(78);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^wxopen: invalid configuration: WXOPEN_SECRET_KEY is the public demo key of the sandbox, not allowed in real mode: generate your own with `openssl rand -hex 32`/),
      expect.stringMatching(/^wxopen: invalid configuration: WXOPEN_TOKEN is the public demo Token/),
      expect.stringMatching(/^wxopen: invalid configuration: WXOPEN_ENCODING_AES_KEY is the public demo EncodingAESKey/),
    ]);
    const d = cli(['doctor', '--json'], pasted);
    expect(d.status).not.toBe(0);
    const config = (JSON.parse(d.stdout) as { checks: { id: string; status: string; message: string }[] }).checks.find((c) => c.id === 'config');
    expect(config).toMatchObject({ status: 'fail', message: expect.stringMatching(/WXOPEN_SECRET_KEY is the public demo key/) });
  });

  it('serve starts, prints its URLs, and `dev push-ticket` gets success and a stored ticket', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-cli-'));
    const db = `sqlite:${join(dir, 'wx.db')}`;
    const child = spawn(TSX, [BIN, 'serve', '--port', '0', '--host', '127.0.0.1'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, WXOPEN_DATABASE_URL: db, LOG_LEVEL: 'warn' },
    });
    children.push(child);
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 120_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    expect(out).toContain('/wechat/component');
    expect(out).toContain('/wechat/authorizer/$APPID$');
    expect(out).toContain('/healthz');
    const r = cli(['dev', 'push-ticket', '--url', url, '--ticket', 'ticket@@@from-cli-base']);
    expect(r.stdout.trim()).toBe('200 success');
    // The push URL itself, as the banner prints it, is taken too.
    const full = cli(['dev', 'push-ticket', '--url', `${url}/wechat/component`, '--ticket', 'ticket@@@from-cli']);
    expect([full.status, full.stdout.trim()]).toEqual([0, '200 success']);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    const store = await createStore(db);
    expect((await store.getTicket('wx0c0ffee0c0ffee00'))?.ticket).toBe('ticket@@@from-cli');
    await store.close();
  });

  it('npm start mode: serve embeds the sandbox; token commands print tokens, the refresh token only on request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-cli-'));
    const [port, sandboxPort, adminPort] = (await freePorts(3)) as [number, number, number];
    const env = { WXOPEN_DATABASE_URL: `sqlite:${join(dir, 'wx.db')}`, PORT: String(port), WXOPEN_SANDBOX_PORT: String(sandboxPort), WXOPEN_ADMIN_PORT: String(adminPort), LOG_LEVEL: 'warn' };
    const child = spawn(TSX, [BIN, 'serve', '--host', '127.0.0.1'], { cwd: ROOT, env: { PATH: process.env.PATH, ...env } });
    children.push(child);
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner: ${out}`)), 120_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('WeChat sandbox')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    expect(out).toContain(`dashboard             http://127.0.0.1:${adminPort}/`);
    // Sandbox mode prints a fresh operator token; the simulator's admin API wants it too.
    const adminToken = /admin token +(wxo_admin_\S+)/.exec(out)![1]!;
    const bearer = { authorization: `Bearer ${adminToken}` };
    expect((await fetch(`http://127.0.0.1:${sandboxPort}/sandbox/admin/accounts`)).status).toBe(401);
    expect(out).toContain(`authorize a merchant  http://localhost:${port}/authorize`);
    expect(out).toMatch(new RegExp(`WeChat sandbox +http://127\\.0\\.0\\.1:${sandboxPort} \\(\\d+ simulated accounts`));
    // A browser opens the dashboard's sandbox page; the simulator's admin API is on the sandbox port, for programs.
    expect(out).toContain(`sandbox controls      http://127.0.0.1:${adminPort}/sandbox (dashboard); API http://127.0.0.1:${sandboxPort}/sandbox/admin (Bearer admin token)`);
    expect((await fetch(`http://127.0.0.1:${sandboxPort}/sandbox/admin`, { headers: bearer })).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${adminPort}/sandbox/admin`, { headers: bearer })).status).toBe(404);
    // The sandbox pushed a ticket on start.
    for (let i = 0; i < 50 && !(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text()).includes('"fresh"'); i++) await new Promise((r) => setTimeout(r, 100));
    const component = cli(['token', 'component', '--json'], env);
    expect(component.status, component.stderr).toBe(0);
    expect(JSON.parse(component.stdout)).toMatchObject({ componentAppid: 'wx0c0ffee0c0ffee00', accessToken: expect.any(String), expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), expiresIn: expect.any(Number) });
    // A merchant authorizes (the sandbox admin stands in for the page), then its token is one command away.
    const accounts = (await (await fetch(`http://127.0.0.1:${sandboxPort}/sandbox/admin/accounts`, { headers: bearer })).json()) as { appid: string; type: string }[] | { accounts: { appid: string; type: string }[] };
    const list = Array.isArray(accounts) ? accounts : accounts.accounts;
    const appid = list.find((a) => a.type === 'miniprogram')!.appid;
    const auth = await fetch(`http://127.0.0.1:${sandboxPort}/sandbox/admin/authorize`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer }, body: JSON.stringify({ appid }) });
    expect(auth.status).toBe(200);
    let shown = cli(['token', 'authorizer', appid, '--json'], env);
    for (let i = 0; i < 20 && shown.status !== 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      shown = cli(['token', 'authorizer', appid, '--json'], env);
    }
    expect(shown.status, shown.stderr).toBe(0);
    const data = JSON.parse(shown.stdout) as Record<string, string>;
    expect(data).toMatchObject({ authorizerAppid: appid, status: 'authorized', accessToken: expect.any(String) });
    expect(data.refreshToken).toBeUndefined();
    const secret = cli(['token', 'authorizer', appid, '--json', '--show-secret'], env);
    expect(JSON.parse(secret.stdout).refreshToken).toEqual(expect.any(String));
    const missing = cli(['token', 'authorizer', 'wx0000000000000000'], env);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^wxopen: authorizer wx0000000000000000 has not authorized this platform.* \(WXO_ERR_AUTHORIZER_NOT_FOUND\)\n$/);
    child.kill('SIGTERM');
  }, 300_000);

  it('dev push-ticket --print shows a curl command', () => {
    const r = cli(['dev', 'push-ticket', '--print', '--url', 'http://127.0.0.1:3000']);
    expect(r.stdout).toMatch(/^curl -sS -X POST .*'http:\/\/127\.0\.0\.1:3000\/wechat\/component\?signature=/);
  });

  it('dev push-ticket --url takes the base URL or the push URL, and its help says so', () => {
    for (const given of ['http://127.0.0.1:3000/', 'http://127.0.0.1:3000/wechat/component', 'http://127.0.0.1:3000/wechat/component/']) {
      const r = cli(['dev', 'push-ticket', '--print', '--url', given]);
      expect([given, r.stdout]).toEqual([given, expect.stringMatching(/'http:\/\/127\.0\.0\.1:3000\/wechat\/component\?signature=[^']*'\n$/)]);
    }
    const help = cli(['dev', 'push-ticket', '--help']).stdout.replace(/\s+/g, ' ');
    expect(help).toContain("the server's base URL, e.g. http://127.0.0.1:4770; its push URL (…/wechat/component) is taken as well");
  });
});
