import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from '../helpers/cli.js';

/**
 * The published package as a stranger gets it: `npm pack`, the tarball unpacked into a fresh project's
 * node_modules (what `npm install <tarball>` does), its dependencies linked from this repository's
 * node_modules instead of downloaded (offline, fast), and nothing else: no @types/pg, no
 * @types/better-sqlite3, no express or koa. A consumer file importing every documented entry point
 * compiles with `skipLibCheck: false` and runs (ESM), and each entry loads with `require` too.
 */

const ENTRY_POINTS = ['wxopen', 'wxopen/crypto', 'wxopen/store', 'wxopen/sandbox', 'wxopen/web', 'wxopen/express', 'wxopen/koa', 'wxopen/fastify'];

const CONSUMER = `import { buildXml, createWxOpen, reply, type ConfigInput, type WxOpen } from 'wxopen';
import { decryptMessage, encryptMessage, signPush } from 'wxopen/crypto';
import { createStore, type Store } from 'wxopen/store';
import { startSandbox } from 'wxopen/sandbox';
import { createWebHandler } from 'wxopen/web';
import { createExpressMiddleware, type ExpressLikeMiddleware } from 'wxopen/express';
import { createKoaMiddleware, type KoaLikeMiddleware } from 'wxopen/koa';
import { wxopenFastify, type WxOpenFastifyOptions } from 'wxopen/fastify';
import Fastify from 'fastify';

const sandbox = await startSandbox({ component: { appid: 'wx0c0ffee0c0ffee00', secret: 'package-test-component-secret', token: 'packageTestToken', encodingAesKey: 'cGFja2FnZXRlc3RlbmNvZGluZ2Flc2tleWZvcnd4b3A' }, ticketIntervalMs: 0 });
const c = sandbox.state.component;
const config: ConfigInput = {
  WXOPEN_COMPONENT_APPID: c.appid, WXOPEN_COMPONENT_SECRET: c.secret, WXOPEN_TOKEN: c.token,
  WXOPEN_ENCODING_AES_KEY: c.encodingAesKey, WXOPEN_SECRET_KEY: 'ab'.repeat(32), WXOPEN_PUBLIC_URL: 'https://wx.example.com',
  WXOPEN_DATABASE_URL: 'sqlite::memory:', WXOPEN_API_BASE: sandbox.url, WXOPEN_API_BACKUP_BASES: '', LOG_LEVEL: 'silent',
};
const wx: WxOpen = await createWxOpen({ config });
wx.on('message.text', (m) => reply.text(m.content));
const handle: (request: Request) => Promise<Response> = createWebHandler(wx);
const now = Math.floor(Date.now() / 1000);
const signed = signPush(buildXml({ AppId: c.appid, CreateTime: now, InfoType: 'component_verify_ticket', ComponentVerifyTicket: 'ticket@@@pack' }), {
  token: c.token, encodingAesKey: c.encodingAesKey, appid: c.appid, timestamp: String(now),
});
const res = await handle(new Request('http://localhost/wechat/component?' + new URLSearchParams(signed.query), { method: 'POST', body: signed.body }));
const ticket = (await wx.store.getTicket(c.appid))?.ticket;
const express: ExpressLikeMiddleware = createExpressMiddleware(wx);
const koa: KoaLikeMiddleware = createKoaMiddleware(wx);
const fastifyOptions: WxOpenFastifyOptions = { wx };
const app = Fastify();
await app.register(wxopenFastify, { ...fastifyOptions, prefix: '/hooks' });
const viaPlugin = await app.inject({ method: 'POST', url: '/hooks/wechat/component', payload: '<xml/>' });
await app.close();
const store: Store = await createStore('sqlite::memory:');
await store.close();
const opened = decryptMessage(encryptMessage('<xml/>', c.encodingAesKey, c.appid), c.encodingAesKey, c.appid).message;
await wx.close();
await sandbox.close();
console.log(JSON.stringify({ status: res.status, text: await res.text(), ticket, opened, adapters: [typeof express, typeof koa, viaPlugin.statusCode] }));
`;

describe('the packed package in a fresh project', () => {
  let dir: string;
  let consumer: string;
  let packed: string[];
  const run = (args: string[]) => spawnSync(process.execPath, args, { cwd: consumer, encoding: 'utf8', timeout: 60_000 });

  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'wxopen-pack-'));
    // Scripts off: dist is built above, and `prepare` would build it again.
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const [info] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
    packed = info!.files.map((f) => f.path);
    consumer = join(dir, 'consumer');
    const installed = join(consumer, 'node_modules', 'wxopen');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', join(dir, info!.filename), '-C', installed, '--strip-components=1']);
    // The package's own dependencies (and the consumer's compiler and Node types), nothing more.
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const name of [...Object.keys(pkg.dependencies), 'typescript', '@types/node']) {
      const link = join(consumer, 'node_modules', name);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules', name), link, 'dir');
    }
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { wxopen: `file:../${info!.filename}` } }));
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023'], types: ['node'], strict: true, skipLibCheck: false, outDir: 'out' },
        include: ['consumer.ts'],
      }),
    );
    writeFileSync(join(consumer, 'consumer.ts'), CONSUMER);
  }, 240_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ships the built dist and README, not the sources or tests', () => {
    expect(packed).toContain('dist/index.js');
    expect(packed).toContain('dist/adapters/web.d.ts');
    expect(packed.filter((p) => p.startsWith('src/') || p.startsWith('test/') || p.endsWith('.ts.map'))).toEqual([]);
    // The incremental build's record is this checkout's, not the package's.
    expect(packed).not.toContain('dist/.tsbuildinfo');
  });

  it('compiles a consumer of every entry point with skipLibCheck: false and no driver types installed', () => {
    const tsc = run([join(consumer, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
    const out = run(['out/consumer.js']);
    expect(out.status, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout.trim().split('\n').at(-1)!)).toEqual({
      status: 200,
      text: 'success',
      ticket: 'ticket@@@pack',
      opened: '<xml/>',
      adapters: ['function', 'function', 400],
    });
  }, 120_000);

  it('imports every entry point as ESM', () => {
    const r = run(['--input-type=module', '-e', `for (const e of ${JSON.stringify(ENTRY_POINTS)}) { const m = await import(e); if (Object.keys(m).length === 0) throw new Error(e + ' is empty'); } console.log('ok');`]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ok');
  });

  it('loads every entry point with CommonJS require (require(esm), Node >= 20.19)', () => {
    const r = run(['-e', `for (const e of ${JSON.stringify(ENTRY_POINTS)}) { const m = require(e); if (Object.keys(m).length === 0) throw new Error(e + ' is empty'); } console.log(typeof require('wxopen/web').createWebHandler);`]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function');
  });
});
