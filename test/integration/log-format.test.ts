import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, startServe } from '../helpers/cli.js';
import { freePorts } from '../helpers/ports.js';

beforeAll(() => ensureBuilt(), 180_000);

/** `wxopen serve` in sandbox mode until its first push is logged, then SIGTERM; everything it printed. */
async function serveOutput(env: Record<string, string>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'wxopen-logs-'));
  const [port, sandboxPort, adminPort] = (await freePorts(3)) as [number, number, number];
  const proc = await startServe({
    cwd: dir,
    env: { WXOPEN_DATABASE_URL: `sqlite:${join(dir, 'wx.db')}`, PORT: String(port), WXOPEN_SANDBOX_PORT: String(sandboxPort), WXOPEN_ADMIN_PORT: String(adminPort), ...env },
  });
  let out = proc.out;
  proc.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  // The process may exit before its last lines reach this end of the pipe: wait for the pipe's end too.
  const drained = new Promise((resolve) => proc.child.stdout!.once('end', resolve));
  // The embedded sandbox pushes a ticket at start; its log line is the one to read.
  for (let i = 0; i < 600 && !out.includes('component_verify_ticket'); i++) await new Promise((r) => setTimeout(r, 100));
  await proc.stop();
  await drained;
  return out;
}

const bannerLine = (l: string) => l.startsWith('wxopen ') || l.startsWith('  ');

describe('log format of `wxopen serve`', { timeout: 120_000 }, () => {
  it('WXOPEN_LOG_FORMAT=pretty prints readable lines around the banner, even when piped', async () => {
    // debug: a ticket push is logged at debug (one every 10 minutes per platform is not news).
    const out = await serveOutput({ WXOPEN_LOG_FORMAT: 'pretty', LOG_LEVEL: 'debug' });
    const logs = out.split('\n').filter((l) => l !== '' && !bannerLine(l));
    expect(logs.length).toBeGreaterThan(2);
    for (const line of logs) expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} (INFO |WARN |ERROR|DEBUG) \S/);
    expect(logs).toContainEqual(expect.stringMatching(/ DEBUG wxopen: push accepted .*infoType=component_verify_ticket/));
    expect(logs).toContainEqual(expect.stringMatching(/ INFO  wxopen: shutting down signal=SIGTERM$/));
    expect(out).not.toMatch(/^\{/m);
  });

  it('piped without the override, the log lines stay pino JSON', async () => {
    // debug here too: the ticket line ends the wait (at info nothing marks it, and the wait ran out at 60 s).
    const out = await serveOutput({ LOG_LEVEL: 'debug' });
    const logs = out.split('\n').filter((l) => l !== '' && !bannerLine(l));
    expect(logs.length).toBeGreaterThan(2);
    for (const line of logs) expect(JSON.parse(line)).toMatchObject({ level: expect.any(Number), time: expect.any(Number), msg: expect.any(String) });
    const msgs = logs.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toContain('shutting down');
    expect(msgs).toContain('push accepted');
  });
});
