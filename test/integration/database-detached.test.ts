/**
 * The SQLite file deleted, moved or replaced under a running server: SQLite would go on writing to the inode it
 * opened, so an answered push would be gone at the next start. Pushes are refused instead (503, WeChat retries
 * later) and /healthz says so, with a log line naming the file.
 */
import { copyFileSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/create-store.js';
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
