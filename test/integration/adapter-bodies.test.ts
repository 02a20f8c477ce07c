import { bodyParser } from '@koa/bodyparser';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createExpressMiddleware } from '../../src/adapters/express.js';
import { wxopenFastify } from '../../src/adapters/fastify.js';
import { createKoaMiddleware } from '../../src/adapters/koa.js';
import { createWebHandler } from '../../src/adapters/web.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { TEST_COMPONENT } from '../helpers/component.js';
import { createWxOpen, type WxOpen } from '../../src/server/create.js';
import {
  BODY_LIMIT,
  listening,
  mountOnFreePort,
  post,
  sandboxConfig,
  signedTicket,
  startAdapterWorld,
  type AdapterWorld,
  type Mounted,
} from '../helpers/adapter-world.js';

/**
 * What a host framework may have done to a push before the adapter sees it: body parsers that kept the
 * raw bytes (answered from them), parsers that skipped the content type (the stream is read), parsers
 * that left only an object (503 and a log line naming the fix); mounts under a prefix; a body that
 * never finishes (408, as the server answers).
 */
describe('adapters: bodies, mounts and deadlines', () => {
  let w: AdapterWorld;
  const mounted: Mounted[] = [];
  let n = 0;
  beforeAll(async () => {
    w = await startAdapterWorld(
      (config, logger) => createWxOpen({ config, logger }),
      (wx, port) => listening(express().use(createExpressMiddleware(wx)).listen(port, '127.0.0.1'), port),
    );
  }, 60_000);
  afterAll(async () => {
    for (const m of mounted) await m.close();
    await w?.close();
  });

  async function mount(fn: (wx: WxOpen, port: number) => Promise<Mounted>): Promise<string> {
    const m = await mountOnFreePort(w.wx, fn);
    mounted.push(m);
    return m.url;
  }
  const node = (app: { listen(port: number, host: string): Server }) => (_wx: WxOpen, port: number) => listening(app.listen(port, '127.0.0.1'), port);

  /** Posts a fresh signed ticket to `base + path` and says what was answered and whether it was stored. */
  async function pushTicket(base: string, path = '/wechat/component', headers?: Record<string, string>) {
    const ticket = `ticket@@@${++n}`;
    const signed = signedTicket(w, ticket);
    const answer = await post(base, path, signed.query, signed.body, headers);
    const stored = (await w.wx.store.getTicket(w.wx.config.componentAppid))?.ticket === ticket;
    return { status: answer.status, body: answer.body, stored };
  }
  const consumedLogs = () => w.lines.filter((l) => (l.err as { code?: string } | undefined)?.code === 'WXO_ERR_PUSH_BODY_CONSUMED');

  describe('Express', () => {
    it('answers from the Buffer of express.raw() and the string of express.text()', async () => {
      const raw = await mount(node(express().use(express.raw({ type: '*/*' })).use(createExpressMiddleware(w.wx))));
      expect(await pushTicket(raw)).toEqual({ status: 200, body: 'success', stored: true });
      const text = await mount(node(express().use(express.text({ type: '*/*' })).use(createExpressMiddleware(w.wx))));
      expect(await pushTicket(text)).toEqual({ status: 200, body: 'success', stored: true });
    });

    it('reads the stream itself after a parser that skipped the content type (express.json before it)', async () => {
      const url = await mount(node(express().use(express.json()).use(createExpressMiddleware(w.wx))));
      expect(await pushTicket(url)).toEqual({ status: 200, body: 'success', stored: true });
    });

    it('refuses a pre-parsed body over the limit with the server 413', async () => {
      const url = await mount(node(express().use(express.raw({ type: '*/*', limit: BODY_LIMIT * 4 })).use(createExpressMiddleware(w.wx))));
      const res = await post(url, '/wechat/component', {}, 'x'.repeat(BODY_LIMIT + 1));
      expect(res.status).toBe(413);
      expect(JSON.parse(res.body)).toMatchObject({ reason: 'xml_too_large' });
    });

    it('answers 503 and logs the fix when a parser kept only an object (express.urlencoded)', async () => {
      const url = await mount(node(express().use(express.urlencoded({ type: '*/*', extended: false })).use(createExpressMiddleware(w.wx))));
      const before = consumedLogs().length;
      expect(await pushTicket(url)).toMatchObject({ status: 503, stored: false });
      expect(consumedLogs().length).toBe(before + 1);
      expect(String(consumedLogs().at(-1)?.msg)).toBe('request failed');
      expect(JSON.stringify(consumedLogs().at(-1))).toContain('mount the adapter before body parsers');
    });

    it('serves under a router prefix (basePath is the full path)', async () => {
      const app = express();
      app.use('/api', createExpressMiddleware(w.wx, { basePath: '/api/wechat' }));
      const url = await mount(node(app));
      expect(await pushTicket(url, '/api/wechat/component')).toEqual({ status: 200, body: 'success', stored: true });
    });

    it("logs a refusal with Express's client address (its trust proxy setting)", async () => {
      const app = express().set('trust proxy', 'loopback').use(createExpressMiddleware(w.wx));
      const url = await mount(node(app));
      const res = await post(url, '/wechat/component', { timestamp: String(Math.floor(Date.now() / 1000)), nonce: 'n', msg_signature: '0'.repeat(40) }, '<xml><Encrypt>abc</Encrypt></xml>', {
        'content-type': 'text/xml',
        'x-forwarded-for': '203.0.113.7',
      });
      expect(res.status).toBe(401);
      expect(w.lines.filter((l) => l.msg === 'push refused').at(-1)).toMatchObject({ reason: 'bad_signature', ip: '203.0.113.7' });
    });

    it('answers 408 to a body that never finishes, as the server does', async () => {
      const url = await mount(node(express().use(createExpressMiddleware(w.wx))));
      const stalled = () => new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new TextEncoder().encode('<xml>')) });
      const [adapter, server] = await Promise.all([post(url, '/wechat/component', {}, stalled()), post(w.server, '/wechat/component', {}, stalled())]);
      expect(adapter).toEqual(server);
      expect(adapter.status).toBe(408);
    });
  });

  describe('Koa', () => {
    it('answers from ctx.request.rawBody after @koa/bodyparser, whatever it parsed the body as', async () => {
      const xml = await mount(node(new Koa().use(bodyParser({ enableTypes: ['xml', 'text'] })).use(createKoaMiddleware(w.wx))));
      expect(await pushTicket(xml)).toEqual({ status: 200, body: 'success', stored: true });
      const form = await mount(node(new Koa().use(bodyParser({ enableTypes: ['form'], extendTypes: { form: ['text/xml'] } })).use(createKoaMiddleware(w.wx))));
      expect(await pushTicket(form)).toEqual({ status: 200, body: 'success', stored: true });
    });

    it('reads the stream itself after a parser that skipped the content type', async () => {
      const url = await mount(node(new Koa().use(bodyParser()).use(createKoaMiddleware(w.wx))));
      expect(await pushTicket(url)).toEqual({ status: 200, body: 'success', stored: true });
    });

    it('answers 503 and logs the fix when only an object is left', async () => {
      const app = new Koa();
      app.use(async (ctx, next) => {
        let text = '';
        for await (const chunk of ctx.req) text += String(chunk);
        (ctx.request as { body?: unknown }).body = { length: text.length };
        await next();
      });
      app.use(createKoaMiddleware(w.wx));
      const url = await mount(node(app));
      const before = consumedLogs().length;
      expect(await pushTicket(url)).toMatchObject({ status: 503, stored: false });
      expect(consumedLogs().length).toBe(before + 1);
    });
  });

  describe('Web handler', () => {
    it('takes a promise of wx (a module-level createWxOpen) and a basePath', async () => {
      const handler = createWebHandler(Promise.resolve(w.wx), { basePath: '/hooks/wechat/' });
      const url = await mount((_wx, port) => listening(serve({ fetch: handler, port, hostname: '127.0.0.1' }) as Server, port));
      expect(await pushTicket(url, '/hooks/wechat/component')).toEqual({ status: 200, body: 'success', stored: true });
      expect((await pushTicket(url, '/wechat/component')).status).toBe(404);
    });

    it('answers 503 and logs the fix when the Request body was read before (Hono c.req.text())', async () => {
      const app = new Hono();
      const wechat = createWebHandler(w.wx);
      app.post('/wechat/*', async (c) => {
        await c.req.raw.text();
        return wechat(c.req.raw);
      });
      const url = await mount((_wx, port) => listening(serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }) as Server, port));
      const before = consumedLogs().length;
      expect(await pushTicket(url)).toMatchObject({ status: 503, stored: false });
      expect(consumedLogs().length).toBe(before + 1);
    });

    it('answers 408 to a body that never finishes, as the server does', async () => {
      const handler = createWebHandler(w.wx);
      const url = await mount((_wx, port) => listening(serve({ fetch: handler, port, hostname: '127.0.0.1' }) as Server, port));
      const stalled = () => new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new TextEncoder().encode('<xml>')) });
      const [adapter, server] = await Promise.all([post(url, '/wechat/component', {}, stalled()), post(w.server, '/wechat/component', {}, stalled())]);
      expect(adapter).toEqual(server);
      expect(adapter.status).toBe(408);
    });

    it('logs a refusal with the address clientIp gives', async () => {
      const handler = createWebHandler(w.wx, { clientIp: (request) => request.headers.get('x-real-ip') ?? undefined });
      const res = await handler(new Request('http://x/wechat/component', { method: 'POST', body: '<xml/>', headers: { 'x-real-ip': '198.51.100.4' } }));
      expect(res.status).toBe(400);
      expect(w.lines.filter((l) => l.msg === 'push refused').at(-1)).toMatchObject({ reason: 'missing_params', ip: '198.51.100.4' });
    });

    it('answers a malformed percent-escape in the appid with 400, like the server', async () => {
      const handler = createWebHandler(w.wx);
      const res = await handler(new Request('http://x/wechat/authorizer/%ff', { method: 'POST', body: '<xml/>' }));
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'WXO_ERR_BAD_URL' });
    });
  });

  describe('Fastify plugin', () => {
    it("keeps the host's JSON parsing and honours Fastify's prefix", async () => {
      const app = Fastify();
      await app.register(wxopenFastify, { wx: w.wx, prefix: '/hooks' });
      app.post('/api/echo', async (request) => request.body);
      const url = await mount(async (_wx, port) => {
        await app.listen({ port, host: '127.0.0.1' });
        return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
      });
      expect(await pushTicket(url, '/hooks/wechat/component')).toEqual({ status: 200, body: 'success', stored: true });
      const echo = await fetch(`${url}/api/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
      expect(await echo.json()).toEqual({ a: 1 });
    });
  });
});

describe('wx.start(): the background work without a listener of its own', () => {
  it('asks WeChat for a ticket at start and stores it through the adapter; wx.url stays unset', async () => {
    const sandbox = await startSandbox({ component: TEST_COMPONENT, ticketIntervalMs: 0 });
    const wx = await createWxOpen({ config: { ...sandboxConfig(sandbox), LOG_LEVEL: 'silent' } });
    const m = await mountOnFreePort(wx, (x, port) => listening(express().use(createExpressMiddleware(x)).listen(port, '127.0.0.1'), port));
    try {
      sandbox.setPlatform({ componentPushUrl: `${m.url}/wechat/component`, authorizerPushUrl: `${m.url}/wechat/authorizer/$APPID$` });
      expect(await wx.store.getTicket(wx.config.componentAppid)).toBeUndefined();
      await wx.start();
      await wx.start(); // idempotent
      await vi.waitFor(async () => expect(await wx.store.getTicket(wx.config.componentAppid)).toBeDefined(), { timeout: 20_000, interval: 50 });
      expect(sandbox.counters.get('/cgi-bin/component/api_start_push_ticket')).toBe(1);
      expect(wx.url).toBeUndefined();
    } finally {
      await m.close();
      await wx.close();
      await sandbox.close();
    }
  }, 60_000);
});
