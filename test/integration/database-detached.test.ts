/**
 * The SQLite file deleted, moved or replaced under a running server: SQLite would go on writing to the inode it
 * opened, so an answered push would be gone at the next start. Pushes are refused instead (503, WeChat retries
 * later) and /healthz says so, with one log line naming the file; the operator's API and dashboard say so too
 * instead of reading the deleted inode as if all were well.
 */
import { copyFileSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/create-store.js';
import { sessionCookie, startAdminWorld, type AdminWorld } from '../helpers/admin-world.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';

let p: TestPlatform | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

const ticket = (t: TestPlatform, value: string, at: number) => ({ AppId: t.config.componentAppid, CreateTime: at, InfoType: 'component_verify_ticket', ComponentVerifyTicket: value });

describe('a SQLite file that goes away under the server', () => {
  for (const how of ['deleted', 'replaced'] as const) {
    it(`${how}: pushes are refused with 503 instead of answered into a lost file; /healthz is 503`, async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'wxopen-detached-')), 'wx.db');
      const url = `sqlite:${file}`;
      const t = (p = await startTestPlatform({ env: { WXOPEN_DATABASE_URL: url }, store: await createStore(url) }));
      const now = Math.floor(t.clock.now() / 1000);
      expect(await t.push(ticket(t, 'ticket@@@kept', now))).toEqual({ status: 200, text: 'success' });
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);

      if (how === 'deleted') {
        for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
      } else {
        // A backup restored over it while it runs: a new file (a new inode) at the same path.
        renameSync(file, `${file}.old`);
        copyFileSync(`${file}.old`, file);
      }
      const refused = await t.push(ticket(t, 'ticket@@@lost', now + 1));
      expect(refused.status).toBe(503);
      expect(refused.text).not.toBe('success');
      // What it is, without naming the file (the push URL is public); WeChat's retries log nothing more.
      expect(JSON.parse(refused.text)).toEqual({ error: 'WXO_ERR_DATABASE_UNAVAILABLE', message: 'the database is unreachable; WeChat retries this push' });
      for (let i = 2; i <= 4; i++) expect((await t.push(ticket(t, `ticket@@@retry${i}`, now + i))).status).toBe(503);
      expect(t.logs.filter((l) => l.msg === 'request failed')).toEqual([]);
      expect(t.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('database unreachable'))).toHaveLength(1);
      const health = await fetch(`${t.url}/healthz`);
      expect(health.status).toBe(503);
      const body = (await health.json()) as { ticket: { status: string; hint?: string } };
      expect(body).toMatchObject({ status: 'error', store: 'unreachable' });
      // Not 'missing' (which points at WeChat's pushes): the ticket is there, the database is what cannot be read.
      expect(body.ticket).toMatchObject({ status: 'unknown', hint: expect.stringMatching(/^the database is unreachable/) });
      expect(JSON.stringify(t.logs)).toMatch(new RegExp(`the database file ${file.replace(/[.]/g, '\\.')} was ${how === 'deleted' ? 'deleted or moved' : 'replaced'} while this process ran`));
    });
  }
});

describe('the operator side of a SQLite file that went away', () => {
  let w: AdminWorld | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('the admin API, the token service and the dashboard answer 503 naming the file, instead of reading the deleted inode', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wxopen-detached-')), 'wx.db');
    const url = `sqlite:${file}`;
    const store = async () => {
      const s = await createStore(url);
      await s.migrate();
      return s;
    };
    const world = (w = await startAdminWorld({ env: { WXOPEN_DATABASE_URL: url }, store }));
    await world.settle();
    const cookie = await sessionCookie(world.adminUrl);
    expect((await world.api('/api/v1/status')).status).toBe(200);
    expect((await world.api('/api/v1/component/access-token')).status).toBe(200);

    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    // Past the guard's interval: the next query stats the file.
    await new Promise((r) => setTimeout(r, 600));
    for (const path of ['/api/v1/status', '/api/v1/authorizers', '/api/v1/component/access-token?force=true']) {
      const res = await world.api(path);
      const body = (await res.json()) as { error: string; message: string };
      expect([path, res.status, body.error]).toEqual([path, 503, 'WXO_ERR_DATABASE_UNAVAILABLE']);
      expect(body.message).toContain(`the database file ${file} was deleted or moved while this process ran`);
    }
    const page = await fetch(`${world.adminUrl}/`, { headers: { accept: 'text/html', 'accept-language': 'zh-CN', cookie } });
    expect(page.status).toBe(503);
    expect(await page.text()).toContain('无法连接数据库');
  });
});
