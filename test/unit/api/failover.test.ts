/**
 * Host failover against real loopback servers: a closed port (connection refused), a server that accepts
 * and never answers (the request timeout), and one that resets the connection after reading the request
 * or in the middle of its answer. A non-idempotent call may only move to the backup host when the
 * request cannot have reached WeChat; anything else could execute a POST twice.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WeChatHttp } from '../../../src/api/http.js';
import { UpstreamError } from '../../../src/errors.js';

interface Host {
  url: string;
  hits: number;
  close(): Promise<void>;
}

type Behaviour = 'ok' | 'stall' | 'reset-before-answer' | 'reset-mid-answer';

async function host(behaviour: Behaviour): Promise<Host> {
  const sockets = new Set<Socket>();
  const h = { url: '', hits: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      h.hits++;
      if (behaviour === 'ok') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ errcode: 0, from: 'backup' }));
      if (behaviour === 'reset-before-answer') return req.socket.destroy();
      if (behaviour === 'reset-mid-answer') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"errcode":0,"aud');
        setImmediate(() => req.socket.destroy());
      }
      // stall: never answer
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  h.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  h.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return h;
}

/** A loopback port nothing listens on: bound, then closed. */
async function closedPort(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

describe('WeChatHttp failover', () => {
  let backup: Host;
  const opened: Host[] = [];
  beforeAll(async () => {
    backup = await host('ok');
  });
  afterEach(async () => {
    for (const h of opened.splice(0)) await h.close();
  });
  afterAll(async () => backup.close());

  // Generous timeouts: the backup must answer within one even on a loaded machine.
  const client = (primary: string, timeoutMs = 10_000) => new WeChatHttp({ bases: [primary, backup.url], timeoutMs, busyBackoffMs: 5 });
  const post = { method: 'POST' as const, path: '/wxa/submit_audit', body: { item_list: [] } };
  const start = async (b: Behaviour) => {
    const h = await host(b);
    opened.push(h);
    return h;
  };

  it('moves a non-idempotent POST to the backup when the primary refuses the connection', async () => {
    const before = backup.hits;
    expect(await client(await closedPort()).request(post)).toMatchObject({ from: 'backup' });
    expect(backup.hits).toBe(before + 1);
  });

  it('does not repeat a POST on the backup when the primary accepted it and then reset the connection', async () => {
    const primary = await start('reset-before-answer');
    const before = backup.hits;
    await expect(client(primary.url).request(post)).rejects.toBeInstanceOf(UpstreamError);
    expect(primary.hits).toBe(1);
    expect(backup.hits).toBe(before);
  });

  it('does not repeat a POST whose answer was cut off mid-body', async () => {
    const primary = await start('reset-mid-answer');
    const before = backup.hits;
    await expect(client(primary.url).request(post)).rejects.toThrow();
    expect(primary.hits).toBe(1);
    expect(backup.hits).toBe(before);
  });

  it('times out a stalled request: a POST fails without being repeated, a GET fails over', async () => {
    const primary = await start('stall');
    const before = backup.hits;
    const err = await client(primary.url, 1500).request(post).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(String((err as Error).message)).toMatch(/TimeoutError|abort/i);
    expect(backup.hits).toBe(before);
    expect(await client(primary.url, 1500).request({ method: 'GET', path: '/wxa/get_page' })).toMatchObject({ from: 'backup' });
    expect(backup.hits).toBe(before + 1);
    expect(primary.hits).toBe(2);
  }, 20_000);
});
