/**
 * `wxopen serve` with WXOPEN_REDIS_URL pointing where no Redis answers: it serves (the message dedupe falls back
 * to the message log, the token cache to the store), says so in one line per outage instead of a stack per
 * reconnect attempt, and stops on SIGTERM. It used to ignore SIGTERM for good: the fleet's BullMQ queue retried
 * its commands forever and shutdown waited for them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, freePort, freePortPair, startServe, type ServeProcess } from '../helpers/cli.js';

beforeAll(() => ensureBuilt(), 180_000);

let server: ServeProcess | undefined;
afterAll(async () => {
  await server?.kill9();
});

describe('serve with Redis down', { timeout: 90_000 }, () => {
  it('serves, reports the outage in one line, and exits 0 within the shutdown grace on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-redisdown-'));
    const port = await freePortPair();
    // A free port: connecting is refused at once, as with a Redis that is down.
    const redisUrl = `redis://127.0.0.1:${await freePort()}`;
    server = await startServe({ cwd: dir, env: { PORT: String(port), LOG_LEVEL: 'info', WXOPEN_LOG_FORMAT: 'json', WXOPEN_REDIS_URL: redisUrl, WXOPEN_SHUTDOWN_GRACE_MS: '1000' } });
    const child = server.child;
    let out = server.out;
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const health = await fetch(`${server.url}/healthz`);
    expect([200, 503]).toContain(health.status);
    // ioredis reconnects about once a second: several attempts, one line.
    await new Promise((r) => setTimeout(r, 4_000));
    const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const outage = lines.filter((l) => l.msg === 'message dedupe: Redis unavailable; relying on the message log');
    expect(outage).toHaveLength(1);
    expect(outage[0]).toMatchObject({ level: 40, code: 'ECONNREFUSED' });
    expect(outage[0]).not.toHaveProperty('err');
    expect(err).not.toMatch(/Unhandled error event|\n\s+at /);

    const started = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    // Closed in order (not by the shutdown deadline, which exits 1): grace 1 s, and 2 s for BullMQ's close.
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(out).not.toContain('shutdown did not finish in time');
  });
});
