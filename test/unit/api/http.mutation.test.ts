import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WeChatHttp, type WeChatHttpOptions } from '../../../src/api/http.js';
import { UpstreamError, WeChatApiError } from '../../../src/errors.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
interface Host {
  url: string;
  server: Server;
  hits: { method: string; url: string; body: string; contentType: string | undefined }[];
  handler: Handler;
}

async function host(): Promise<Host> {
  const h: Host = { url: '', server: undefined as unknown as Server, hits: [], handler: (_q, res) => json(res, { ok: 1 }) };
  h.server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      h.hits.push({ method: req.method!, url: req.url!, body, contentType: req.headers['content-type'] });
      h.handler(req, res, body);
    });
  });
  await new Promise<void>((r) => h.server.listen(0, '127.0.0.1', r));
  h.url = `http://127.0.0.1:${(h.server.address() as AddressInfo).port}`;
  return h;
}

function json(res: ServerResponse, data: unknown, status = 200, contentType = 'application/json'): void {
  res.writeHead(status, { 'content-type': contentType });
  res.end(JSON.stringify(data));
}

/** A loopback port nobody listens on: connecting is refused at once. */
async function closedPortUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

describe('WeChatHttp (behaviour under failure)', () => {
  let a: Host;
  let b: Host;
  let refused: string;
  beforeAll(async () => {
    a = await host();
    b = await host();
    refused = await closedPortUrl();
  });
  afterAll(() => {
    for (const h of [a, b]) {
      h.server.closeAllConnections();
      h.server.close();
    }
  });
  const reset = () => {
    for (const h of [a, b]) {
      h.hits.length = 0;
      h.handler = (_q, res) => json(res, { from: h === a ? 'a' : 'b' });
    }
  };
  const http = (o: Partial<WeChatHttpOptions> = {}) => new WeChatHttp({ bases: [a.url, b.url], busyBackoffMs: 1, timeoutMs: 10_000, ...o });

  it('refuses to be built without an API base', () => {
    expect(() => new WeChatHttp({ bases: [] })).toThrow(TypeError);
  });

  it('sends a JSON content type only with a body, and query values as strings', async () => {
    reset();
    await http().request({ method: 'GET', path: '/g', query: { n: 5, t: true, s: 'x y' } });
    await http().request({ method: 'POST', path: '/p', body: { a: [1] } });
    expect(a.hits).toEqual([
      { method: 'GET', url: '/g?n=5&t=true&s=x+y', body: '', contentType: undefined },
      { method: 'POST', url: '/p', body: '{"a":[1]}', contentType: 'application/json' },
    ]);
  });

  it('retries -1 on an idempotent call busyRetries times, then reports the -1 with its errmsg', async () => {
    reset();
    a.handler = (_q, res) => json(res, { errcode: -1, errmsg: 'system error' });
    const err = await http({ busyRetries: 2 }).request({ method: 'GET', path: '/busy' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeChatApiError);
    expect(err).toMatchObject({ errcode: -1, errmsg: 'system error', path: '/busy' });
    expect(a.hits).toHaveLength(3);
    reset();
    a.handler = (_q, res) => json(res, { errcode: -1 });
    await http().request({ method: 'GET', path: '/busy' }).catch(() => undefined);
    expect(a.hits).toHaveLength(4); // default: 3 retries
  });

  it('retries a POST marked idempotent, and never retries one that is not', async () => {
    reset();
    let left = 1;
    a.handler = (_q, res) => (left-- > 0 ? json(res, { errcode: -1 }) : json(res, { errcode: 0, done: true }));
    expect(await http().request({ method: 'POST', path: '/p', body: {}, idempotent: true })).toMatchObject({ done: true });
    reset();
    a.handler = (_q, res) => json(res, { errcode: -1 });
    await expect(http().request({ method: 'POST', path: '/p', body: {} })).rejects.toMatchObject({ errcode: -1 });
    expect(a.hits).toHaveLength(1);
  });

  it('does not retry other errcodes, and keeps a non-numeric errcode as success data', async () => {
    reset();
    a.handler = (_q, res) => json(res, { errcode: 40001, errmsg: 'invalid credential' });
    await expect(http().request({ method: 'GET', path: '/t' })).rejects.toMatchObject({ errcode: 40001, errmsg: 'invalid credential' });
    expect(a.hits).toHaveLength(1);
    reset();
    a.handler = (_q, res) => json(res, { errcode: 'n/a', value: 1 });
    expect(await http().request({ method: 'GET', path: '/t' })).toEqual({ errcode: 'n/a', value: 1 });
    reset();
    a.handler = (_q, res) => json(res, { errcode: 45009 });
    await expect(http().request({ method: 'GET', path: '/t' })).rejects.toMatchObject({ errcode: 45009, errmsg: '' });
  });

  it('fails a non-idempotent call over when the connection was refused (it cannot have reached WeChat)', async () => {
    reset();
    const attempts: string[] = [];
    const r = await new WeChatHttp({ bases: [refused, b.url], onAttempt: (p, o) => attempts.push(`${p} ${o}`) }).request({
      method: 'POST',
      path: '/cgi-bin/component/api_query_auth',
      body: { x: 1 },
    });
    expect(r).toEqual({ from: 'b' });
    expect(b.hits).toHaveLength(1);
    expect(attempts).toEqual(['/cgi-bin/component/api_query_auth network_error', '/cgi-bin/component/api_query_auth ok']);
  });

  it('does not fail a non-idempotent call over when the connection dropped after sending (WeChat may have run it)', async () => {
    reset();
    a.handler = (req) => req.socket.destroy();
    const err = await http().request({ method: 'POST', path: '/wxa/release', body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).toContain(a.url);
    expect(a.hits).toHaveLength(1);
    expect(b.hits).toHaveLength(0);
  });

  it('gives up after the timeout: an idempotent call moves on to the backup, a non-idempotent one fails', async () => {
    reset();
    a.handler = () => undefined; // never answers
    // Generous: the backup, served by this same (possibly busy) process, must answer within it.
    expect(await http({ timeoutMs: 3000 }).request({ method: 'GET', path: '/slow' })).toEqual({ from: 'b' });
    const err = await http({ timeoutMs: 200 }).request({ method: 'POST', path: '/slow', body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).toContain(`TimeoutError on ${a.url}`);
    expect(b.hits).toHaveLength(1);
  }, 20_000);

  it('reports the last host’s failure when every host fails', async () => {
    reset();
    a.handler = (_q, res) => json(res, {}, 503);
    b.handler = (_q, res) => json(res, {}, 500);
    const attempts: string[] = [];
    const err = await http({ onAttempt: (_p, o) => attempts.push(o) }).request({ method: 'GET', path: '/x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).toContain(`/x: HTTP 500 from ${b.url}`);
    expect(attempts).toEqual(['http_503', 'http_500']);
    const refusedEverywhere = await new WeChatHttp({ bases: [refused, refused] }).request({ method: 'GET', path: '/y' }).catch((e: unknown) => e);
    expect(refusedEverywhere).toBeInstanceOf(UpstreamError);
    expect((refusedEverywhere as Error).message).toContain('ECONNREFUSED');
  });

  it('treats 4xx as an answer, not a host failure', async () => {
    reset();
    a.handler = (_q, res) => json(res, { errcode: 0, status: 'teapot' }, 418);
    expect(await http().request({ method: 'GET', path: '/x' })).toEqual({ errcode: 0, status: 'teapot' });
    expect(b.hits).toHaveLength(0);
  });

  it('parses JSON (and text) answers even when binary is allowed', async () => {
    reset();
    a.handler = (_q, res) => json(res, { errcode: 0, kind: 'json' }, 200, 'application/json; charset=utf-8');
    expect(await http().request({ method: 'GET', path: '/q', binary: true })).toEqual({ errcode: 0, kind: 'json' });
    a.handler = (_q, res) => json(res, { errcode: 85013, errmsg: 'bad' }, 200, 'text/plain');
    await expect(http().request({ method: 'GET', path: '/q', binary: true })).rejects.toMatchObject({ errcode: 85013 });
    a.handler = (_q, res) => json(res, { x: 1 }, 200, '');
    const raw = await http().request<{ contentType: string; data: Buffer }>({ method: 'GET', path: '/q', binary: true });
    expect(raw.contentType).toBe('');
    expect(raw.data.toString()).toBe('{"x":1}');
  });
});
