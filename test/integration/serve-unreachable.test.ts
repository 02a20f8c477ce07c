/**
 * `wxopen serve --no-sandbox` before the simulator is up: WeChat's hosts point at a port where nothing answers.
 * The failed api_start_push_ticket at start is one log line (message, ECONNREFUSED, the host), not a stack, and
 * the server starts anyway.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, freePortPair, startServe, type ServeProcess } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';

beforeAll(() => ensureBuilt(), 180_000);

let server: ServeProcess | undefined;
afterAll(async () => {
  await server?.stop();
});

describe('serve with WeChat unreachable', { timeout: 90_000 }, () => {
  it('logs the failed ticket request at start as one line naming the code and host, and serves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-nosandbox-'));
    // PORT + 1, where the embedded simulator would listen, is free: connecting to it is refused.
    const port = await freePortPair();
    server = await startServe({ cwd: dir, args: ['--no-sandbox'], env: { PORT: String(port), LOG_LEVEL: 'info', WXOPEN_LOG_FORMAT: 'json' } });
    let out = server.out;
    server.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const logLines = () => out.split('\n').flatMap((l) => (l.startsWith('{') && l.endsWith('}') ? [JSON.parse(l) as Record<string, unknown>] : []));
    const line = await until('the api_start_push_ticket warning', () => logLines().find((l) => l.msg === 'api_start_push_ticket failed; waiting for the regular ticket push'));
    const host = `http://localhost:${port + 1}`;
    expect(line).toMatchObject({ level: 40, code: 'ECONNREFUSED', host, error: expect.stringContaining(`ECONNREFUSED on ${host}`) });
    expect(line).not.toHaveProperty('err');
    expect(out).not.toMatch(/"stack"|\bat .*\.js:\d+/);
    // Started and serving, waiting for a ticket push (the simulator, once started, sends one).
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'degraded', ticket: { status: 'missing' } });
  });
});
