import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_DEFAULTS } from '../../src/config.js';
import { createStore } from '../../src/store/create-store.js';
import { BIN, ensureBuilt, freePort, freePortPair, oneLine, startServe, wxopen, type ServeProcess } from '../helpers/cli.js';
import { startWorld, type World } from '../helpers/world.js';
import { until } from '../helpers/wait.js';
import { formOf } from '../helpers/sandbox-form.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const MP = 'wx5c9d0e3a7f1b2846';

/** A merchant clicks through our /authorize page and the sandbox's authorization page; returns its appid. */
async function authorizeThroughPages(url: string): Promise<string> {
  const go = await fetch(`${url}/authorize/go?auth_type=2`, { redirect: 'manual' });
  expect(go.status).toBe(302);
  const page = new URL(go.headers.get('location')!);
  // The sandbox opens its page only from the registered entry domain (spec 14): the public URL's host, localhost.
  const form = formOf(await (await fetch(page, { headers: { referer: `${url.replace('127.0.0.1', 'localhost')}/authorize` } })).text());
  const chosen = form.accounts.includes(MP) ? MP : form.accounts[0]!;
  const body = new URLSearchParams([...form.fields, ['authorizer_appid', chosen], ['func', '17'], ['func', '18']]);
  const confirm = await fetch(new URL(form.action, page.origin), { method: 'POST', body, redirect: 'manual' });
  expect(confirm.status).toBe(302);
  const callback = await fetch(confirm.headers.get('location')!);
  expect(callback.status).toBe(200);
  // The avatar is the embedded sandbox's, at the address browsers reach it by (WXOPEN_MP_BASE), not its bind address.
  const avatar = /<img class="avatar" src="([^"]+)"/.exec(await callback.text())?.[1];
  expect(avatar).toMatch(new RegExp(`^http://localhost:${page.port}/mmopen/gh_\\w+/0$`));
  expect((await fetch(avatar!.replace('localhost', '127.0.0.1'))).headers.get('content-type')).toMatch(/^image\/svg\+xml/);
  return chosen;
}

async function sandboxCall(base: string, path: string, query: Record<string, string>, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}?${new URLSearchParams(query)}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await res.json()) as Record<string, unknown>;
}

beforeAll(() => ensureBuilt(), 180_000);

describe('the second day: restart, a second process, the CLI from anywhere in the project', () => {
  const servers: ServeProcess[] = [];
  afterAll(async () => {
    for (const s of servers) await s.kill9();
  });

  it('keeps merchants working across restarts, refuses a second server on the SQLite file, and survives kill -9', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-day2-'));
    const port = await freePortPair();
    const sandboxPort = port + 1;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'shop', private: true, dependencies: { wxopen: '^0.1.0' } }));
    // npm start's settings live in the project's .env: every command reads them, from any subdirectory.
    writeFileSync(join(dir, '.env'), `PORT=${port}\nLOG_LEVEL=warn\n`);
    const sub = join(dir, 'scripts/jobs');
    mkdirSync(sub, { recursive: true });

    const first = await startServe({ cwd: dir });
    servers.push(first);
    // Sandbox mode binds loopback only by default.
    expect(first.url).toBe(`http://127.0.0.1:${port}`);
    expect(first.sandboxUrl).toBe(`http://127.0.0.1:${sandboxPort}`);
    await until('a fresh ticket', async () => ((await (await fetch(`${first.url}/healthz`)).text()).includes('"fresh"') ? true : undefined), { intervalMs: 200 });
    const appid = await authorizeThroughPages(first.url);

    const shown = await until('the authorizer', async () => {
      const r = await wxopen(['token', 'authorizer', appid, '--json', '--show-secret'], { cwd: sub });
      return r.status === 0 ? r : undefined;
    }, { intervalMs: 200 });
    const before = JSON.parse(shown.stdout) as { accessToken: string; refreshToken: string; status: string; funcInfo: number[]; expiresAt: string; expiresIn: number };
    expect(before).toMatchObject({ status: 'authorized', funcInfo: [17, 18], expiresAt: expect.stringMatching(ISO), expiresIn: expect.any(Number) });

    // A second process on the same SQLite file is refused in one line.
    const second = await wxopen(['serve'], { cwd: dir });
    expect(second.status).toBe(1);
    expect(oneLine(second.stderr)).toMatch(new RegExp(`data/wxopen\\.db is in use by the wxopen server \\(pid ${first.child.pid}, .*SQLite allows one process.*PostgreSQL`));
    // CLI commands share the database with the running server (one refresh between them, through the lease file).
    const c1 = JSON.parse((await wxopen(['token', 'component', '--json'], { cwd: sub })).stdout) as { accessToken: string };
    const force = await wxopen(['token', 'component', '--force', '--json'], { cwd: sub });
    expect(force.status, force.stderr).toBe(0);
    expect((JSON.parse(force.stdout) as { accessToken: string }).accessToken).not.toBe(c1.accessToken);

    // Restart (npm start again): the simulated WeChat still knows the merchant and the tokens it issued.
    await first.stop();
    const restarted = await startServe({ cwd: dir });
    servers.push(restarted);
    expect((await sandboxCall(restarted.sandboxUrl!, '/wxa/get_category', { access_token: before.accessToken })).errcode).toBe(0);
    const component = await wxopen(['token', 'component', '--json'], { cwd: sub });
    expect(component.status, component.stderr).toBe(0);
    const cat = (JSON.parse(component.stdout) as { accessToken: string }).accessToken;
    const refreshed = await sandboxCall(
      restarted.sandboxUrl!,
      '/cgi-bin/component/api_authorizer_token',
      { component_access_token: cat },
      { component_appid: SANDBOX_DEFAULTS.WXOPEN_COMPONENT_APPID, authorizer_appid: appid, authorizer_refresh_token: before.refreshToken },
    );
    expect(refreshed).toMatchObject({ authorizer_access_token: expect.any(String) });
    // And on the merchant's behalf through wxopen itself: a new token, not 61003, not flagged.
    const after = await wxopen(['token', 'authorizer', appid, '--force', '--json'], { cwd: sub });
    expect(after.status, after.stderr).toBe(0);
    const renewed = JSON.parse(after.stdout) as { accessToken: string; status: string };
    expect(renewed.status).toBe('authorized');
    expect(renewed.accessToken).not.toBe(before.accessToken);
    expect((await sandboxCall(restarted.sandboxUrl!, '/wxa/get_category', { access_token: renewed.accessToken })).errcode).toBe(0);

    // kill -9 leaves no lock behind: the next start succeeds (on other ports, which the CLI then finds).
    await restarted.kill9();
    const port3 = await freePortPair();
    const third = await startServe({ cwd: dir, args: ['--port', String(port3)] });
    servers.push(third);
    expect(third.url).toBe(`http://127.0.0.1:${port3}`);
    expect(third.sandboxUrl).toBe(`http://127.0.0.1:${port3 + 1}`);
    const viaRuntime = await wxopen(['token', 'authorizer', appid, '--force', '--json'], { cwd: sub });
    expect(viaRuntime.status, viaRuntime.stderr).toBe(0);
    expect(JSON.parse(viaRuntime.stdout)).toMatchObject({ status: 'authorized' });
    const push = await wxopen(['dev', 'push-ticket', '--json'], { cwd: sub });
    expect(push.status, push.stderr).toBe(0);
    expect(JSON.parse(push.stdout)).toMatchObject({ status: 200, body: 'success', url: third.url });
    // That made-up ticket is not one the sandbox issued (nor would WeChat have): the next refresh is refused in one
    // line saying what happens next, and once the ticket wxopen asked for has been pushed, the same command works.
    const refused = await wxopen(['token', 'component', '--force'], { cwd: sub });
    expect(refused.status).toBe(1);
    // Only that line: not the JSON log line the process writes as it asks WeChat for a ticket.
    const [errorLine, ...rest] = refused.stderr.split('\n').filter((l) => l !== '');
    expect(rest).toEqual([]);
    expect(errorLine).toMatch(/^wxopen: .*errcode 61006: .*wxopen asks WeChat to push one \(api_start_push_ticket\): try again once it has arrived \(WXO_ERR_WECHAT_API\)$/);
    await until('a component token once the requested ticket has arrived', async () => {
      const r = await wxopen(['token', 'component', '--force', '--json'], { cwd: sub });
      return r.status === 0 ? r : undefined;
    }, { timeoutMs: 20_000, intervalMs: 250 });
    await third.stop();
    // With the server gone, so is the simulated WeChat it embedded: the line says that, not only ECONNREFUSED.
    const noServer = await wxopen(['token', 'component', '--force'], { cwd: sub, env: { PORT: String(await freePortPair()) } });
    expect(noServer.status).toBe(1);
    expect(oneLine(noServer.stderr)).toMatch(/^wxopen: .*ECONNREFUSED.*; in sandbox mode WeChat is the simulator that `wxopen serve` embeds .*no running server was found for the project at (.+): start one there.* \(WXO_ERR_UPSTREAM\)$/);
    expect(noServer.stderr).toContain(`project at ${dir}:`);
    // A clean stop leaves the whole database in wxopen.db (the WAL checkpointed and removed), so a copy of that
    // file alone, a backup taken while the server is stopped, holds the merchant.
    expect(existsSync(join(dir, 'data/wxopen.db-wal'))).toBe(false);
    const backup = join(mkdtempSync(join(tmpdir(), 'wxopen-backup-')), 'wxopen.db');
    copyFileSync(join(dir, 'data/wxopen.db'), backup);
    const restored = await createStore(`sqlite:${backup}`);
    expect(await restored.getAuthorizer(SANDBOX_DEFAULTS.WXOPEN_COMPONENT_APPID, appid)).toMatchObject({ status: 'authorized' });
    await restored.close();

    // A script in an unrelated directory does not silently get a new, empty database.
    const elsewhere = mkdtempSync(join(tmpdir(), 'wxopen-elsewhere-'));
    // Nor does any other command that works on the project's data, reading or writing.
    for (const args of [['token', 'component'], ['keys', 'list'], ['keys', 'create', '--name', 'x', '--scope', 'tokens:read'], ['admin', 'reset-token'], ['deploy', 'list'], ['templates', 'list']]) {
      const lost = await wxopen(args, { cwd: elsewhere, env: args[0] === 'admin' ? { ...SANDBOX_DEFAULTS, WXOPEN_TOKEN: 'elsewhereToken', WXOPEN_ENCODING_AES_KEY: 'b'.repeat(43), WXOPEN_SECRET_KEY: 'ef'.repeat(32), WXOPEN_PUBLIC_URL: 'https://wx.example.com' } : {} });
      expect(lost.status, args.join(' ')).toBe(1);
      expect(oneLine(lost.stderr), args.join(' ')).toMatch(/^wxopen: no database at .*wxopen-elsewhere-.*\/data\/wxopen\.db .*\(WXO_ERR_DATABASE_MISSING\)$/);
      expect(existsSync(join(elsewhere, 'data/wxopen.db')), args.join(' ')).toBe(false);
    }
  }, 240_000);
});

describe('token --force obtains a new token, then swaps; --json is data', { timeout: 120_000 }, () => {
  let w: World;
  let file: string;
  let cwd: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'wxopen-force-'));
    file = join(cwd, 'wx.db');
    w = await startWorld({ realClock: true, store: () => createStore(`sqlite:${file}`) });
    await w.settle();
    await w.sandbox.authorize(MP, [17, 18]);
    await w.settle();
    env = {
      // The world's data is sealed under the demo key, which only sandbox mode accepts; it takes these overrides.
      WXOPEN_MODE: 'sandbox',
      WXOPEN_PUBLIC_URL: w.url,
      WXOPEN_API_BASE: w.sandbox.url,
      WXOPEN_API_BACKUP_BASES: w.sandbox.url,
      WXOPEN_DATABASE_URL: `sqlite:${file}`,
      LOG_LEVEL: 'silent',
    };
  });
  afterAll(async () => w?.close());

  const json = (r: { status: number | null; stdout: string; stderr: string }): Record<string, unknown> => {
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  it('component: --force in a fresh process gives a different token; unreachable WeChat leaves the stored one valid', async () => {
    const c1 = json(await wxopen(['token', 'component', '--json'], { cwd, env }));
    expect(c1).toMatchObject({ componentAppid: SANDBOX_DEFAULTS.WXOPEN_COMPONENT_APPID, accessToken: expect.any(String), expiresAt: expect.stringMatching(ISO), obtainedAt: expect.stringMatching(ISO) });
    expect(c1.expiresIn).toBeGreaterThan(7000);
    const c2 = json(await wxopen(['token', 'component', '--force', '--json'], { cwd, env }));
    expect(c2.accessToken).not.toBe(c1.accessToken);

    const closed = `http://127.0.0.1:${await freePort()}`;
    const down = await wxopen(['token', 'component', '--force'], { cwd, env: { ...env, WXOPEN_API_BASE: closed, WXOPEN_API_BACKUP_BASES: closed } });
    expect(down.status).toBe(1);
    expect(oneLine(down.stderr)).toMatch(/^wxopen: .*ECONNREFUSED/);
    const kept = json(await wxopen(['token', 'component', '--json'], { cwd, env }));
    expect(kept.accessToken).toBe(c2.accessToken);
    const used = await sandboxCall(w.sandbox.url, '/cgi-bin/component/api_create_preauthcode', { component_access_token: String(kept.accessToken) }, { component_appid: SANDBOX_DEFAULTS.WXOPEN_COMPONENT_APPID });
    expect(used).toMatchObject({ pre_auth_code: expect.any(String) });
  });

  it('authorizer: --force gives a different token; unreachable WeChat leaves the stored one valid', async () => {
    const a1 = json(await wxopen(['token', 'authorizer', MP, '--json'], { cwd, env }));
    expect(a1).toMatchObject({ authorizerAppid: MP, status: 'authorized', funcInfo: [17, 18], expiresAt: expect.stringMatching(ISO), expiresIn: expect.any(Number) });
    const a2 = json(await wxopen(['token', 'authorizer', MP, '--force', '--json'], { cwd, env }));
    expect(a2.accessToken).not.toBe(a1.accessToken);

    const closed = `http://127.0.0.1:${await freePort()}`;
    const down = await wxopen(['token', 'authorizer', MP, '--force'], { cwd, env: { ...env, WXOPEN_API_BASE: closed, WXOPEN_API_BACKUP_BASES: closed } });
    expect(down.status).toBe(1);
    expect(oneLine(down.stderr)).toMatch(/^wxopen: .*ECONNREFUSED/);
    const kept = json(await wxopen(['token', 'authorizer', MP, '--json'], { cwd, env }));
    expect(kept.accessToken).toBe(a2.accessToken);
    expect((await sandboxCall(w.sandbox.url, '/wxa/get_category', { access_token: String(kept.accessToken) })).errcode).toBe(0);
    expect(w.sandbox.counters.get('/cgi-bin/component/api_authorizer_token', MP)).toBe(1);
  });
});

describe('one line, never a stack', { timeout: 120_000 }, () => {
  const sandboxEnv = (dir: string) => ({ WXOPEN_DATABASE_URL: `sqlite:${join(dir, 'wx.db')}`, LOG_LEVEL: 'silent' });

  it('port in use (serve, for the server and for the embedded sandbox; wxopen sandbox alone)', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const dir = mkdtempSync(join(tmpdir(), 'wxopen-port-'));
      const r = await wxopen(['serve'], { cwd: dir, env: { ...sandboxEnv(dir), PORT: String(taken) } });
      expect(r.status).toBe(1);
      expect(oneLine(r.stderr)).toMatch(new RegExp(`^wxopen: port ${taken} on 127\\.0\\.0\\.1 is already in use .*PORT or --port`));
      // PORT from a free run of three (the sandbox and admin ports default to the next two): a free ephemeral port
      // alone once had its neighbour taken by another test's connection, and the refusal named that one instead.
      const s = await wxopen(['serve'], { cwd: dir, env: { ...sandboxEnv(dir), PORT: String(await freePortPair()), WXOPEN_SANDBOX_PORT: String(taken) } });
      expect(s.status).toBe(1);
      expect(oneLine(s.stderr)).toMatch(new RegExp(`^wxopen: port ${taken} on 127\\.0\\.0\\.1 is already in use .*WXOPEN_SANDBOX_PORT`));
      const a = await wxopen(['serve'], { cwd: dir, env: { ...sandboxEnv(dir), PORT: String(await freePortPair()), WXOPEN_ADMIN_PORT: String(taken) } });
      expect(a.status).toBe(1);
      expect(oneLine(a.stderr)).toMatch(new RegExp(`^wxopen: port ${taken} on 127\\.0\\.0\\.1 is already in use .*WXOPEN_ADMIN_PORT`));
      // Refused before the database: no database, WAL or lock file was created by any of the three.
      expect(readdirSync(dir)).toEqual([]);
      const alone = await wxopen(['sandbox', '-p', String(taken)], { cwd: dir });
      expect(alone.status).toBe(1);
      expect(oneLine(alone.stderr)).toBe(`wxopen: port ${taken} on 127.0.0.1 is already in use (by another program or wxopen server); choose another with --port (WXO_ERR_PORT_IN_USE)`);
    } finally {
      blocker.close();
    }
  }, 120_000);

  it('a bad port is named as it was given, before anything is created', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-badport-'));
    for (const given of ['notaport', '99999', '-1']) {
      const r = await wxopen(['serve', '-p', given], { cwd: dir, env: sandboxEnv(dir) });
      expect(r.status, given).toBe(78);
      expect(oneLine(r.stderr)).toBe('wxopen: invalid configuration: --port must be a whole number from 0 to 65535');
    }
    const env = await wxopen(['serve'], { cwd: dir, env: { ...sandboxEnv(dir), PORT: '99999' } });
    expect(env.status).toBe(78);
    expect(oneLine(env.stderr)).toBe('wxopen: invalid configuration: PORT must be a whole number from 0 to 65535');
    const sandbox = await wxopen(['sandbox', '-p', '70000'], { cwd: dir });
    expect(sandbox.status).toBe(1);
    expect(sandbox.stderr).toMatch(/^error: option '-p, --port <port>' argument '70000' is invalid\. must be a whole number from 0 to 65535\n/);
    // No database, lock or runtime file: the refusal came first.
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an unknown log level is named with the accepted ones, in one line, by every command', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-badlevel-'));
    const levels = 'fatal, error, warn, info, debug, trace, silent';
    for (const args of [['serve'], ['config'], ['token', 'component']]) {
      const r = await wxopen(args, { cwd: dir, env: { ...sandboxEnv(dir), LOG_LEVEL: 'verbose' } });
      expect(r.status, args.join(' ')).toBe(78);
      expect(oneLine(r.stderr)).toBe(`wxopen: invalid configuration: LOG_LEVEL must be one of ${levels}`);
    }
    // pino refused it with its own message once the sandbox was starting.
    const sandbox = await wxopen(['sandbox', '--log-level', 'verbose', '-p', String(await freePort())], { cwd: dir });
    expect(sandbox.status).toBe(1);
    expect(sandbox.stderr).toMatch(new RegExp(`^error: option '--log-level <level>' argument 'verbose' is invalid\\. must be one of ${levels}\n`));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a host that is not this machine\'s is named with the setting to change, in one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-badhost-'));
    const port = String(await freePortPair());
    const unresolvable = await wxopen(['serve', '-p', port, '--host', '999.1.1.1'], { cwd: dir, env: sandboxEnv(dir) });
    expect(unresolvable.status).toBe(1);
    expect(oneLine(unresolvable.stderr)).toBe(`wxopen: cannot listen on 999.1.1.1:${port}: 999.1.1.1 is not an address and does not resolve; set HOST or --host to one of this machine's addresses (127.0.0.1, 0.0.0.0 for all) (WXO_ERR_BAD_HOST)`);
    // TEST-NET-1 (RFC 5737): never an address of this machine.
    const foreign = await wxopen(['serve', '-p', port], { cwd: dir, env: { ...sandboxEnv(dir), WXOPEN_ADMIN_HOST: '192.0.2.1' } });
    expect(foreign.status).toBe(1);
    expect(oneLine(foreign.stderr)).toMatch(/^wxopen: cannot listen on 192\.0\.2\.1:\d+: 192\.0\.2\.1 is not an address of this machine; set WXOPEN_ADMIN_HOST to one of this machine's addresses .*\(WXO_ERR_BAD_HOST\)$/);
  });

  it('server unreachable (dev push-ticket), and real mode needs --real', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-push-'));
    const closed = `http://127.0.0.1:${await freePort()}`;
    const r = await wxopen(['dev', 'push-ticket', '--url', closed], { cwd: dir });
    expect(r.status).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/^wxopen: cannot reach the server at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    // Not an HTTP URL at all: a usage error naming the flag, not "cannot reach … fetch failed".
    const ftp = await wxopen(['dev', 'push-ticket', '--url', 'ftp://x'], { cwd: dir });
    expect(ftp.status).toBe(1);
    expect(oneLine(ftp.stderr)).toBe('wxopen: --url must be the server\'s http:// or https:// base URL (or its …/wechat/component push URL), not "ftp://x" (WXO_ERR_USAGE)');
    const real = {
      WXOPEN_COMPONENT_APPID: 'wx1234567890abcdef',
      WXOPEN_COMPONENT_SECRET: 's'.repeat(32),
      WXOPEN_TOKEN: 'tok123',
      WXOPEN_ENCODING_AES_KEY: 'a'.repeat(43),
      WXOPEN_PUBLIC_URL: 'https://wx.example.com',
      WXOPEN_SECRET_KEY: 'ab'.repeat(32),
    };
    const refused = await wxopen(['dev', 'push-ticket', '--url', closed], { cwd: dir, env: real });
    expect(refused.status).toBe(1);
    expect(oneLine(refused.stderr)).toMatch(/refusing to push a made-up ticket with real credentials.*--real/);
    const allowed = await wxopen(['dev', 'push-ticket', '--real', '--url', closed], { cwd: dir, env: real });
    expect(oneLine(allowed.stderr)).toMatch(/cannot reach the server/);
    // --print makes no request, but in real mode it still needs --real.
    expect((await wxopen(['dev', 'push-ticket', '--print', '--url', closed], { cwd: dir, env: real })).status).toBe(1);
  });

  it('output piped to a reader that leaves (EPIPE) exits quietly with 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-epipe-'));
    const child = spawn(process.execPath, [BIN, 'config'], { cwd: dir, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    // `| head -1` that already left: the reading end is closed before the first write.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('PostgreSQL down (serve and token)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-pgdown-'));
    const url = `postgres://app:hunter2@127.0.0.1:${await freePort()}/wx`;
    // A free port (and the simulator's beside it): `serve` checks its port before it opens the database.
    const port = String(await freePortPair());
    for (const args of [['serve'], ['token', 'component']]) {
      const r = await wxopen(args, { cwd: dir, env: { WXOPEN_DATABASE_URL: url, LOG_LEVEL: 'silent', PORT: port } });
      expect(r.status, args.join(' ')).toBe(1);
      const line = oneLine(r.stderr);
      expect(line).toMatch(/^wxopen: cannot open the database postgres:\/\/\*\*\*@127\.0\.0\.1:\d+\/wx: ECONNREFUSED/);
      expect(line).not.toContain('hunter2');
    }
  }, 60_000);

  it('a database path under a file (the data directory cannot be created)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-baddir-'));
    writeFileSync(join(dir, 'plain'), 'a file, not a directory');
    const r = await wxopen(['serve'], { cwd: dir, env: { WXOPEN_DATABASE_URL: `sqlite:${join(dir, 'plain', 'wx.db')}`, LOG_LEVEL: 'silent', PORT: String(await freePortPair()) } });
    expect(r.status).toBe(1);
    expect(oneLine(r.stderr)).toBe(`wxopen: cannot create the data directory ${join(dir, 'plain')} (EEXIST: a file is in the way); choose another path in WXOPEN_DATABASE_URL (WXO_ERR_DATA_DIRECTORY)`);
  }, 60_000);

  it('unreadable SQLite file (not a database, or not a file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-badsqlite-'));
    writeFileSync(join(dir, 'garbage.db'), 'this is not a database, just text that is long enough to have a header '.repeat(20));
    mkdirSync(join(dir, 'folder.db'));
    const port = String(await freePortPair());
    for (const [db, code] of [['garbage.db', 'SQLITE_NOTADB'], ['folder.db', 'SQLITE_CANTOPEN']] as const) {
      for (const args of [['serve'], ['token', 'component']]) {
        const r = await wxopen(args, { cwd: dir, env: { WXOPEN_DATABASE_URL: `sqlite:${join(dir, db)}`, LOG_LEVEL: 'silent', PORT: port } });
        expect(r.status, `${args.join(' ')} ${db}`).toBe(1);
        expect(oneLine(r.stderr)).toMatch(new RegExp(`^wxopen: cannot open the database sqlite:.*${db.replace('.', '\\.')}: ${code}`));
      }
    }
  }, 60_000);
});

describe('configuration from the CLI', { timeout: 90_000 }, () => {
  it('config --json is data; every problem is reported at once; .env is read, the environment wins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-cfg-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'shop', dependencies: { wxopen: '*' } }));
    writeFileSync(join(dir, '.env'), 'PORT=4321\nWXOPEN_DATABASE_URL=postgres://app:hunter2@127.0.0.1/wx\nWXOPEN_REDIS_URL=redis://:r3dis@127.0.0.1:6379\n');
    mkdirSync(join(dir, 'sub'));
    const c = JSON.parse((await wxopen(['config', '--json'], { cwd: join(dir, 'sub') })).stdout) as Record<string, unknown>;
    expect(c).toMatchObject({ mode: 'sandbox', port: 4321, host: '127.0.0.1', sandboxPort: 4322, apiBackupBases: [], projectDir: dir, databaseUrl: 'postgres://***@127.0.0.1/wx', redisUrl: 'redis://***@127.0.0.1:6379' });
    expect(JSON.stringify(c)).not.toMatch(/hunter2|r3dis/);
    const text = await wxopen(['config'], { cwd: dir, env: { PORT: '4444' } });
    expect(text.stdout).toMatch(/^port +4444$/m);
    // One column for every value, however long its key (releaseTestResponder once ran into `true`).
    const rows = text.stdout.trimEnd().split('\n');
    expect(rows.length).toBeGreaterThan(30);
    const columns = new Set(rows.map((row) => /^\S+ {2,}/.exec(row)?.[0].length));
    expect([...columns]).toEqual([Math.max(...rows.map((row) => row.split(' ')[0]!.length)) + 2]);
    expect(text.stdout).toMatch(/^releaseTestResponder +true$/m);
    expect(text.stdout).not.toMatch(/hunter2|r3dis/);

    const bad = await wxopen(['config'], { cwd: dir, env: { PORT: 'eighty', LOG_LEVEL: 'loud', WXOPEN_PUSH_MAX_SKEW_SECONDS: '0' } });
    expect(bad.status).toBe(78);
    const lines = bad.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const v of ['PORT', 'LOG_LEVEL', 'WXOPEN_PUSH_MAX_SKEW_SECONDS']) expect(lines.some((l) => l.startsWith(`wxopen: invalid configuration: ${v} `))).toBe(true);
  });

  it('unknown keys in WXOPEN_CONFIG_FILE are an error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-cfgfile-'));
    writeFileSync(join(dir, 'wxopen.json'), JSON.stringify({ WXOPEN_DATABSE_URL: 'sqlite:x.db' }));
    const r = await wxopen(['config'], { cwd: dir, env: { WXOPEN_CONFIG_FILE: join(dir, 'wxopen.json') } });
    expect(r.status).toBe(78);
    expect(oneLine(r.stderr)).toMatch(/^wxopen: invalid configuration: WXOPEN_CONFIG_FILE .*unknown key WXOPEN_DATABSE_URL/);
  });

  it('production never falls into sandbox mode by accident', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-prod-'));
    for (const args of [['config'], ['serve']]) {
      const r = await wxopen(args, { cwd: dir, env: { NODE_ENV: 'production' } });
      expect(r.status).toBe(78);
      expect(oneLine(r.stderr)).toBe(
        'wxopen: invalid configuration: WXOPEN_MODE is not set and neither are the credentials, under NODE_ENV=production: wxopen will not start the sandbox with its public demo credentials there. Set WXOPEN_COMPONENT_APPID, WXOPEN_COMPONENT_SECRET, WXOPEN_TOKEN, WXOPEN_ENCODING_AES_KEY, WXOPEN_PUBLIC_URL, WXOPEN_SECRET_KEY for real mode, or WXOPEN_MODE=sandbox to run the sandbox on purpose',
      );
    }
    const asked = await wxopen(['config', '--json'], { cwd: dir, env: { NODE_ENV: 'production', WXOPEN_MODE: 'sandbox' } });
    expect(JSON.parse(asked.stdout)).toMatchObject({ mode: 'sandbox', host: '127.0.0.1' });
    expect(JSON.parse((await wxopen(['config', '--json'], { cwd: dir, env: { HOST: '0.0.0.0' } })).stdout)).toMatchObject({ host: '0.0.0.0' });
    const real = await wxopen(['config'], { cwd: dir, env: { WXOPEN_MODE: 'real' } });
    expect(real.status).toBe(78);
    expect(real.stderr.trim().split('\n')).toHaveLength(6);
  });

  it('--help works for every command and lists the new flags', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-help-'));
    const expected: [string[], RegExp][] = [
      [['--help'], /serve|config|dev|token|sandbox/],
      [['serve', '--help'], /--port.*\n[\s\S]*--host[\s\S]*--no-sandbox/],
      [['config', '--help'], /--json/],
      [['dev', '--help'], /push-ticket/],
      [['dev', 'push-ticket', '--help'], /--url[\s\S]*--ticket[\s\S]*--print[\s\S]*--real[\s\S]*--json/],
      [['token', '--help'], /component[\s\S]*authorizer/],
      [['token', 'component', '--help'], /--force[\s\S]*--json/],
      [['token', 'authorizer', '--help'], /--force[\s\S]*--show-secret[\s\S]*--json/],
      [['sandbox', '--help'], /--port[\s\S]*--state-file/],
    ];
    const results = await Promise.all(expected.map(([args]) => wxopen(args, { cwd: dir })));
    for (const [i, [args, pattern]] of expected.entries()) {
      const r = results[i]!;
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(/Usage: wxopen/);
      expect(r.stdout, args.join(' ')).toMatch(pattern);
    }
  });
});
