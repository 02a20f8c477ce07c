import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng, rawRequest } from '../helpers/raw-http.js';
import { startWorld, type World } from '../helpers/world.js';

/**
 * Fuzzes the public surface with a seeded PRNG (the same cases every run): paths with malformed
 * escapes, `..`, unicode and great length, query strings, methods, content types, lying or doubled
 * content lengths and chunked bodies. Each case goes over real HTTP (so the raw push fast path sees
 * it first) and, where light-my-request can express it, through `app.inject` (Fastify's routes alone).
 * Every answer must be 2xx/4xx, never a 5xx, never a hang, and the process must still serve pushes.
 */

const SEED = 0x5eed_0009;
const CASES = 400;
const AUTHORIZER = 'wx570bc396a51b8ff8';

const BASES = [
  '/wechat/component',
  '/wechat/authorizer/',
  `/wechat/authorizer/${AUTHORIZER}`,
  '/wechat/',
  '/wechat',
  '/authorize/callback',
  '/authorize/go',
  '/authorize',
  '/',
  '/healthz',
  '/metrics',
  '/nope',
];
const SEGMENTS = ['%ff', '%', '%f', '%zz', '%E0%A4%A', '%C0%AF', '%ed%a0%80', '..', '../..', '%2e%2e', '%2F', '%00', 'é', '日本', '\u{1F600}', AUTHORIZER, '', '//', ';x', '.', '%25'];
const QUERIES = ['', '?', '?timestamp=1&nonce=2&msg_signature=3', '?%ff=%zz', '?timestamp=%ff&nonce=%&msg_signature=%zz', `?timestamp=${'9'.repeat(40)}&nonce=n&msg_signature=s`, '?&&&===', '?auth_code=x&state=%ff', '?state=1.2.3&auth_code=abc', '?auth_type=2', '?mobile=1&auth_type=999', '?a[b]=1&a[b]=2', `?timestamp=FRESH&nonce=n&msg_signature=${'0'.repeat(40)}`, `?timestamp=FRESH&nonce=n&msg_signature=${'0'.repeat(40)}`];
const METHODS = ['POST', 'POST', 'POST', 'GET', 'GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];
const TYPES = [undefined, 'text/xml', 'application/xml', 'application/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', ';;;', 'text/xml; charset=gbk', 'text/plain; charset=utf-8', '*/*', 'x'.repeat(300)];
const LENGTHS = ['exact', 'exact', 'exact', 'short', 'long', 'nan', 'negative', 'double', 'chunked', 'chunked-bad', 'chunked+length', 'none'] as const;

interface Case {
  method: string;
  target: string;
  contentType: string | undefined;
  length: (typeof LENGTHS)[number];
  body: Buffer;
  forwardedFor: string | undefined;
}

function makeCases(): Case[] {
  const r = prng(SEED);
  const cases: Case[] = [];
  for (let i = 0; i < CASES; i++) {
    let path = r.pick(BASES);
    for (let n = r.int(3); n > 0; n--) path += (path.endsWith('/') ? '' : r.int(2) ? '/' : '') + r.pick(SEGMENTS);
    if (r.int(20) === 0) path += 'a'.repeat(1000 + r.int(12_000));
    const bodies = [
      '',
      '<xml/>',
      '&'.repeat(r.int(70_000)),
      '<xml><Encrypt>' + '<'.repeat(r.int(3000)),
      '{"a":',
      '<xml><AppId>x</AppId><Encrypt><![CDATA[abc]]></Encrypt></xml>',
      Buffer.from(Array.from({ length: r.int(2000) }, () => r.int(256))).toString('latin1'),
    ];
    cases.push({
      method: r.pick(METHODS),
      target: path + r.pick(QUERIES),
      contentType: r.pick(TYPES),
      length: r.pick(LENGTHS),
      body: Buffer.from(r.pick(bodies), 'latin1'),
      forwardedFor: r.int(4) === 0 ? r.pick(['1.2.3.4', 'junk, , ,', '::1, 10.0.0.1', '"><script>']) : undefined,
    });
  }
  return cases;
}

/** `FRESH` in a query becomes a timestamp inside the replay window, so the checks after it are reached too. */
const fresh = (target: string, nowMs: number) => target.replace('FRESH', String(Math.floor(nowMs / 1000)));

function toBytes(c: Case, nowMs: number): Buffer {
  const head = [`${c.method} ${fresh(c.target, nowMs)} HTTP/1.1`, 'Host: 127.0.0.1'];
  if (c.contentType !== undefined) head.push(`Content-Type: ${c.contentType}`);
  if (c.forwardedFor !== undefined) head.push(`X-Forwarded-For: ${c.forwardedFor}`);
  let body = c.body;
  switch (c.length) {
    case 'exact':
      head.push(`Content-Length: ${body.length}`);
      break;
    case 'short':
      head.push(`Content-Length: ${Math.floor(body.length / 2)}`);
      break;
    case 'long':
      head.push(`Content-Length: ${body.length + 100}`);
      break;
    case 'nan':
      head.push('Content-Length: abc');
      break;
    case 'negative':
      head.push('Content-Length: -1');
      break;
    case 'double':
      head.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`);
      break;
    case 'chunked':
      head.push('Transfer-Encoding: chunked');
      body = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from(body.length ? '\r\n0\r\n\r\n' : '\r\n')]);
      break;
    case 'chunked-bad':
      head.push('Transfer-Encoding: chunked');
      body = Buffer.concat([Buffer.from('zz\r\n'), body, Buffer.from('\r\n')]);
      break;
    case 'chunked+length':
      head.push('Transfer-Encoding: chunked', `Content-Length: ${body.length}`);
      break;
    case 'none':
      break;
  }
  // Paths are written as UTF-8 bytes, as a careless client would.
  return Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n', 'utf8'), body]);
}

async function inBatches<T, R>(items: T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

describe('fuzzing paths, methods and headers never kills the process, never answers 5xx, never hangs', () => {
  let w: World;
  let port: number;
  const cases = makeCases();
  beforeAll(async () => {
    w = await startWorld({ env: { WXOPEN_REQUEST_TIMEOUT_MS: '1500', WXOPEN_HEADERS_TIMEOUT_MS: '1000', WXOPEN_PUSH_TIMEOUT_MS: '800' } });
    await w.settle();
    port = Number(new URL(w.url).port);
  });
  afterAll(async () => {
    await w?.close();
  });

  it('answers POST /wechat/authorizer/%ff like Fastify (400), on the fast path and through the routes', async () => {
    const raw = await rawRequest(port, `POST /wechat/authorizer/%ff?timestamp=1&nonce=2&msg_signature=3 HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n<xml/>`);
    expect(raw.hung).toBe(false);
    expect(raw.status).toBe(400);
    const injected = await w.app.inject({ method: 'POST', url: '/wechat/authorizer/%ff?timestamp=1&nonce=2&msg_signature=3', payload: '<xml/>' });
    expect(injected.statusCode).toBe(400);
    expect(raw.raw).toContain(JSON.parse(injected.body).code ?? JSON.parse(injected.body).error);
    const again = await fetch(`${w.url}/healthz`);
    expect(again.status).toBe(200);
  });

  it('a fresh-looking push with no body at all is a 400 on both paths, not a 503', async () => {
    const ts = Math.floor(w.sandbox.clock.now() / 1000);
    for (const url of [`/wechat/component?timestamp=${ts}&nonce=n&msg_signature=${'0'.repeat(40)}`, `/wechat/authorizer/${AUTHORIZER}?timestamp=${ts}&nonce=n&msg_signature=${'0'.repeat(40)}`]) {
      const injected = await w.app.inject({ method: 'POST', url });
      expect(injected.statusCode, url).toBe(400);
      const raw = await rawRequest(port, `POST ${url} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`);
      expect(raw.status, url).toBe(400);
    }
  });

  it(`${CASES} seeded cases over real HTTP (fast path first): 2xx/4xx only, no hang`, async () => {
    const answers = await inBatches(cases, 16, async (c) => ({ c, a: await rawRequest(port, toBytes(c, w.sandbox.clock.now()), 6000) }));
    const bad = answers.filter(({ a }) => a.hung || a.status === undefined || a.status >= 500 || a.status < 200);
    expect(bad.map(({ c, a }) => `${c.method} ${c.target.slice(0, 80)} [${c.length}] → ${a.hung ? 'hang' : (a.status ?? 'closed')}`)).toEqual([]);
    // The fuzz reached both sides: pushes refused by the fast path and Fastify's own answers.
    const statuses = new Set(answers.map(({ a }) => a.status));
    expect(statuses.has(400)).toBe(true);
    expect(statuses.has(404)).toBe(true);
    // Still alive and still storing: a valid push after the storm.
    const health = await fetch(`${w.url}/healthz`);
    expect(health.status).toBe(200);
  }, 120_000);

  it(`the same cases through app.inject (Fastify's routes without the fast path): 2xx/4xx only`, async () => {
    let sent = 0;
    for (const c of cases) {
      const headers: Record<string, string> = {};
      if (c.contentType !== undefined) headers['content-type'] = c.contentType;
      if (c.forwardedFor !== undefined) headers['x-forwarded-for'] = c.forwardedFor;
      if (c.length === 'nan') headers['content-length'] = 'abc';
      if (c.length === 'short') headers['content-length'] = String(Math.floor(c.body.length / 2));
      if (c.length === 'chunked') headers['transfer-encoding'] = 'chunked';
      let res;
      try {
        res = await w.app.inject({ method: c.method as 'POST', url: fresh(c.target, w.sandbox.clock.now()), headers, payload: c.method === 'GET' || c.method === 'HEAD' ? undefined : c.body });
      } catch {
        continue; // light-my-request refused to build the request (e.g. a header Node forbids): not a server answer
      }
      sent++;
      expect.soft(res.statusCode, `${c.method} ${c.target.slice(0, 80)} [${c.length}]`).toBeLessThan(500);
    }
    expect(sent).toBeGreaterThan(CASES * 0.8);
  }, 120_000);
});
