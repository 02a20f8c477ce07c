import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, freePortPair, oneLine, startServe, wxopen, type ServeProcess } from '../helpers/cli.js';

beforeAll(() => ensureBuilt(), 180_000);

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('wxopen templates (after npm start, against the embedded sandbox)', { timeout: 180_000 }, () => {
  let server: ServeProcess;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wxopen-fleet-cli-'));
    const port = await freePortPair();
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'shop', private: true }));
    writeFileSync(join(dir, '.env'), `PORT=${port}\nLOG_LEVEL=warn\n`);
    server = await startServe({ cwd: dir });
    await until('a fresh ticket', async () => ((await (await fetch(`${server.url}/healthz`)).text()).includes('"fresh"') ? true : undefined));
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('drafts, add, list, delete; --json is machine-readable; failures are one line with the errcode', async () => {
    const run = (...args: string[]) => wxopen(['templates', ...args], { cwd: dir });
    const drafts = await run('drafts');
    expect(drafts.status, drafts.stderr).toBe(0);
    expect(drafts.stdout).toMatch(/^DRAFT\s+VERSION/);
    expect(drafts.stdout).toMatch(/\n2\s+1\.1\.0\s+.*新增会员页/);
    const draftsJson = JSON.parse((await run('drafts', '--json')).stdout) as Array<{ draft_id: number; template_ids: number[] }>;
    expect(draftsJson.map((d) => d.draft_id)).toEqual([2, 1]);

    const empty = await run('list');
    expect(empty.stdout).toContain('0 of 200 templates');

    const added = await run('add', '2', '--json');
    expect(added.status, added.stderr).toBe(0);
    const t = JSON.parse(added.stdout) as { template_id: number; draft_id: number; user_version: string };
    expect(t).toMatchObject({ draft_id: 2, user_version: '1.1.0' });
    const human = await run('add', '1');
    expect(human.stdout).toMatch(/^added draft 1 as template \d+ \(1\.0\.0\)\n$/);

    const list = await run('list');
    expect(list.stdout).toContain('2 of 200 templates');
    expect(list.stdout).toMatch(new RegExp(`\\n${t.template_id}\\s+1\\.1\\.0\\s+normal\\s+2\\s`));
    const listJson = JSON.parse((await run('list', '--json')).stdout) as { limit: number; count: number; templates: Array<{ template_id: number }> };
    expect(listJson).toMatchObject({ limit: 200, count: 2 });

    const del = await run('delete', String(t.template_id));
    expect(del.stdout).toBe(`deleted template ${t.template_id}\n`);
    const again = await run('delete', String(t.template_id));
    expect(again.status).toBe(1);
    expect(oneLine(again.stderr)).toBe(`wxopen: no template ${t.template_id} in the library (WeChat 85064) (WXO_ERR_TEMPLATE_NOT_FOUND)`);
    const noDraft = await run('add', '999');
    expect(oneLine(noDraft.stderr)).toMatch(/no draft 999 .*85064/);
    const bad = await run('add', 'abc');
    expect(oneLine(bad.stderr)).toBe('wxopen: draft_id must be a number, not "abc" (WXO_ERR_USAGE)');
    const help = await wxopen(['templates', '--help'], { cwd: dir });
    expect(help.stdout).toMatch(/drafts[\s\S]*list[\s\S]*add[\s\S]*delete/);
  });
});
