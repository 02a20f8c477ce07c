/**
 * Sandbox mode on PostgreSQL, as a user tries "several instances": the second `wxopen serve` on the same
 * database uses the first one's simulated WeChat instead of starting its own (whose tickets and tokens the first
 * would not know), and the files a PostgreSQL server keeps are its own, not the project's SQLite file's.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, freePortPair, startServe, wxopen, type ServeProcess } from '../helpers/cli.js';
import { freePorts } from '../helpers/ports.js';
import { dropSchema, noteSkipped, PG_URL, uniqueSchema } from '../helpers/services.js';

beforeAll(() => ensureBuilt(), 180_000);

const pgUrl = PG_URL;
if (pgUrl === undefined) noteSkipped('sandbox mode on PostgreSQL', 'WXOPEN_TEST_PG_URL');
else {
  describe('two sandbox-mode servers on one PostgreSQL database', { timeout: 120_000 }, () => {
    const { dir, servers, url } = projectOnSchema(pgUrl, 'wxo_pgsandbox', 'wxopen-pg-sandbox-');

    it('share the first one\'s simulator: a merchant authorized through one has tokens through the other and the CLI', async () => {
      const [p1, s1, a1, p2, a2] = (await freePorts(5)) as [number, number, number, number, number];
      const env = (port: number, admin: number) => ({ WXOPEN_DATABASE_URL: url(), PORT: String(port), WXOPEN_ADMIN_PORT: String(admin), WXOPEN_SANDBOX_PORT: String(s1) });
      const one = await startServe({ cwd: dir, env: env(p1, a1) });
      servers.push(one);
      expect(one.sandboxUrl).toBe(`http://127.0.0.1:${s1}`);
      // Its own files, named for the database, under the project's data/ (not data/wxopen.db.*).
      const own = readdirSync(join(dir, 'data'));
      expect(own).toContainEqual(expect.stringMatching(/^postgres-[0-9a-f]{12}\.server\.json$/));
      expect(own.filter((f) => f.startsWith('wxopen.db'))).toEqual([]);

      // The same WXOPEN_SANDBOX_PORT: starting a simulator of its own would fail on the port; it joins instead.
      const two = await startServe({ cwd: dir, env: env(p2, a2) });
      servers.push(two);
      expect(two.out).toMatch(new RegExp(`WeChat sandbox +http://127\\.0\\.0\\.1:${s1} \\(shared: run by the wxopen server pid \\d+`));

      const token = /admin token\s+(\S+)/.exec(one.out)![1]!;
      const appid = 'wx5c9d0e3a7f1b2846';
      const authorized = await fetch(`${one.sandboxUrl}/sandbox/admin/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ appid, func_ids: [17, 18] }),
      });
      expect(authorized.status).toBe(200);
      // Through the second instance: a pre_auth_code (needs the ticket the shared simulator pushed to the first).
      const go = await fetch(`${two.url}/authorize/go`, { redirect: 'manual', headers: { referer: `${two.url}/authorize` } });
      expect(go.status, await go.text()).toBe(302);
      // The CLI, with the project's settings for this database: the merchant's token, refreshed on demand.
      const r = await wxopen(['token', 'authorizer', appid, '--force', '--json'], { cwd: dir, env: { WXOPEN_DATABASE_URL: url() } });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ authorizerAppid: appid });
      // The doctor, without the PORT the servers were started with, checks the address of the server that runs the simulator.
      const doctor = await wxopen(['doctor', '--json'], { cwd: dir, env: { WXOPEN_DATABASE_URL: url() } });
      const checks = (JSON.parse(doctor.stdout) as { checks: Array<{ id: string; status: string; message: string }> }).checks;
      expect(checks.find((c) => c.id === 'public-url')).toMatchObject({ status: 'pass', message: expect.stringContaining(`:${p1}/healthz`) });
    });
  });

  describe('the second server stops while the first runs', { timeout: 120_000 }, () => {
    const { dir, servers, url } = projectOnSchema(pgUrl, 'wxo_pgrecord', 'wxopen-pg-record-');

    it('keeps the first one\'s record: the CLI still reaches it, and the second, started again, shares its simulator', async () => {
      // Each with its own default simulator port (PORT + 1), as a user starts them: only the record stops a second simulator.
      const [pa, pb] = [await freePortPair(), await freePortPair()];
      const a = await startServe({ cwd: dir, env: { WXOPEN_DATABASE_URL: url(), PORT: String(pa) } });
      servers.push(a);
      expect(a.sandboxUrl).toBe(`http://127.0.0.1:${pa + 1}`);
      const record = () => {
        const file = readdirSync(join(dir, 'data')).find((f) => /^postgres-[0-9a-f]{12}\.server\.json$/.test(f));
        return file === undefined ? undefined : (JSON.parse(readFileSync(join(dir, 'data', file), 'utf8')) as { pid: number; url: string; sandboxUrl?: string });
      };
      const shared = new RegExp(`WeChat sandbox +${a.sandboxUrl!.replace(/\./g, '\\.')} \\(shared: run by the wxopen server pid ${a.child.pid},`);

      const b = await startServe({ cwd: dir, env: { WXOPEN_DATABASE_URL: url(), PORT: String(pb) } });
      servers.push(b);
      expect(b.out).toMatch(shared);
      expect(record()).toMatchObject({ pid: a.child.pid, url: a.url, sandboxUrl: a.sandboxUrl });

      await b.stop();
      expect(record()).toMatchObject({ pid: a.child.pid, url: a.url, sandboxUrl: a.sandboxUrl });
      // A CLI command without the PORT the servers were started with finds the running one.
      const push = await wxopen(['dev', 'push-ticket', '--json'], { cwd: dir, env: { WXOPEN_DATABASE_URL: url() } });
      expect(push.status, push.stderr).toBe(0);
      expect(JSON.parse(push.stdout)).toMatchObject({ status: 200, body: 'success', url: a.url });

      const again = await startServe({ cwd: dir, env: { WXOPEN_DATABASE_URL: url(), PORT: String(pb) } });
      servers.push(again);
      expect(again.out).toMatch(shared);
      expect(await fetch(`http://127.0.0.1:${pb + 1}/`).then(() => 'answered', () => 'refused')).toBe('refused');

      // The first stops while the second runs: the record goes with it (its simulator did), and the next start
      // runs the simulator again instead of pointing at a dead one.
      await a.stop();
      expect(record()).toBeUndefined();
      await again.stop();
      const next = await startServe({ cwd: dir, env: { WXOPEN_DATABASE_URL: url(), PORT: String(pb) } });
      servers.push(next);
      expect(next.sandboxUrl).toBe(`http://127.0.0.1:${pb + 1}`);
      expect(next.out).not.toMatch(/shared: run by/);
      expect(record()).toMatchObject({ pid: next.child.pid, url: next.url, sandboxUrl: next.sandboxUrl });
    });
  });
}

/**
 * A project directory and a schema of its own for one describe block: `url()` is the database URL with that
 * search_path (set once the schema exists); servers pushed to `servers` are stopped, then both are removed.
 */
function projectOnSchema(pgUrl: string, schemaPrefix: string, dirPrefix: string): { dir: string; servers: ServeProcess[]; url: () => string } {
  const schema = uniqueSchema(schemaPrefix);
  const dir = mkdtempSync(join(tmpdir(), dirPrefix));
  const servers: ServeProcess[] = [];
  let url: string | undefined;
  beforeAll(async () => {
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    await client.query(`create schema ${schema}`);
    await client.end();
    const u = new URL(pgUrl);
    u.searchParams.set('options', `-c search_path=${schema}`);
    url = u.toString();
  });
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await dropSchema(pgUrl, schema);
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, servers, url: () => url! };
}
