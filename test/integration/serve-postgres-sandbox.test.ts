/**
 * Sandbox mode on PostgreSQL, as a user tries "several instances": the second `wxopen serve` on the same
 * database uses the first one's simulated WeChat instead of starting its own (whose tickets and tokens the first
 * would not know), and the files a PostgreSQL server keeps are its own, not the project's SQLite file's.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, startServe, wxopen, type ServeProcess } from '../helpers/cli.js';
import { freePorts } from '../helpers/ports.js';
import { dropSchema, noteSkipped, PG_URL, uniqueSchema } from '../helpers/services.js';

beforeAll(() => ensureBuilt(), 180_000);

const pgUrl = PG_URL;
if (pgUrl === undefined) noteSkipped('sandbox mode on PostgreSQL', 'WXOPEN_TEST_PG_URL');
else {
  describe('two sandbox-mode servers on one PostgreSQL database', { timeout: 120_000 }, () => {
    const schema = uniqueSchema('wxo_pgsandbox');
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-pg-sandbox-'));
    const servers: ServeProcess[] = [];
    let url: string;
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

    it('share the first one\'s simulator: a merchant authorized through one has tokens through the other and the CLI', async () => {
      const [p1, s1, a1, p2, a2] = (await freePorts(5)) as [number, number, number, number, number];
      const env = (port: number, admin: number) => ({ WXOPEN_DATABASE_URL: url, PORT: String(port), WXOPEN_ADMIN_PORT: String(admin), WXOPEN_SANDBOX_PORT: String(s1) });
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
      const r = await wxopen(['token', 'authorizer', appid, '--force', '--json'], { cwd: dir, env: { WXOPEN_DATABASE_URL: url } });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ authorizerAppid: appid });
      // The doctor, without the PORT the servers were started with, checks the running server's address.
      const doctor = await wxopen(['doctor', '--json'], { cwd: dir, env: { WXOPEN_DATABASE_URL: url } });
      const checks = (JSON.parse(doctor.stdout) as { checks: Array<{ id: string; status: string; message: string }> }).checks;
      expect(checks.find((c) => c.id === 'public-url')).toMatchObject({ status: 'pass', message: expect.stringContaining(`:${p2}/healthz`) });
    });
  });
}
