import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/create-store.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'src/cli/bin.ts');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(TSX, [BIN, ...args], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, encoding: 'utf8', timeout: 20_000 });
}

describe('wxopen CLI', () => {
  const children: ReturnType<typeof spawn>[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGTERM');
  });

  it('prints help for every command', () => {
    for (const args of [['--help'], ['serve', '--help'], ['dev', '--help'], ['dev', 'push-ticket', '--help'], ['config', '--help']]) {
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

  it('serve starts, prints its URLs, and `dev push-ticket` gets success and a stored ticket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-cli-'));
    const db = `sqlite:${join(dir, 'wx.db')}`;
    const child = spawn(TSX, [BIN, 'serve', '--port', '0', '--host', '127.0.0.1'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, WXOPEN_DATABASE_URL: db, LOG_LEVEL: 'warn' },
    });
    children.push(child);
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 15_000);
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
    const r = cli(['dev', 'push-ticket', '--url', url, '--ticket', 'ticket@@@from-cli']);
    expect(r.stdout.trim()).toBe('200 success');
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    const store = await createStore(db);
    expect((await store.getTicket('wx0c0ffee0c0ffee00'))?.ticket).toBe('ticket@@@from-cli');
    await store.close();
  });

  it('dev push-ticket --print shows a curl command', () => {
    const r = cli(['dev', 'push-ticket', '--print', '--url', 'http://127.0.0.1:3000']);
    expect(r.stdout).toMatch(/^curl -sS -X POST .*'http:\/\/127\.0\.0\.1:3000\/wechat\/component\?signature=/);
  });
});
