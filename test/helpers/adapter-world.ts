import type { Server } from 'node:http';
import { computeMsgSignature, signPush } from '../../src/crypto/index.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import type { ConfigInput, WxOpen } from '../../src/server/create.js';
import type { Logger } from '../../src/util/logger.js';
import { buildXml } from '../../src/xml/build.js';
import { captureLogger } from './logs.js';
import { freePorts } from './ports.js';
import { TEST_COMPONENT } from './component.js';

/** A host framework listening on a loopback port with wxopen's adapter mounted. */
export interface Mounted {
  url: string;
  close(): Promise<void>;
}

export interface AdapterWorld {
  sandbox: Sandbox;
  wx: WxOpen;
  /** The host framework with the adapter. */
  adapter: string;
  /** wxopen's own listener on the same `wx`: what the adapter's answers are compared with. */
  server: string;
  lines: Record<string, unknown>[];
  close(): Promise<void>;
}

export const BODY_LIMIT = 4096;

/** The sandbox's component, as the environment (or a config object) would hold it. */
export function sandboxConfig(sandbox: Sandbox): Record<string, string> {
  const c = sandbox.state.component;
  return {
    WXOPEN_COMPONENT_APPID: c.appid,
    WXOPEN_COMPONENT_SECRET: c.secret,
    WXOPEN_TOKEN: c.token,
    WXOPEN_ENCODING_AES_KEY: c.encodingAesKey,
    WXOPEN_SECRET_KEY: 'ab'.repeat(32),
    WXOPEN_PUBLIC_URL: 'https://wx.example.com',
    WXOPEN_DATABASE_URL: 'sqlite::memory:',
    WXOPEN_API_BASE: sandbox.url,
    WXOPEN_API_BACKUP_BASES: '',
    WXOPEN_MP_BASE: sandbox.url,
    WXOPEN_OPEN_BASE: sandbox.url,
    WXOPEN_BODY_LIMIT_BYTES: String(BODY_LIMIT),
    WXOPEN_PUSH_TIMEOUT_MS: '1500',
    LOG_LEVEL: 'info',
  };
}

/**
 * The sandbox, one `wx` (opened by `open`), the host framework with the adapter on a free port (the
 * sandbox pushes there), and wxopen's own listener on the same `wx` for comparison.
 */
export async function startAdapterWorld(
  open: (config: ConfigInput, logger: Logger) => Promise<WxOpen>,
  mount: (wx: WxOpen, port: number) => Promise<Mounted>,
): Promise<AdapterWorld> {
  const sandbox = await startSandbox({ component: TEST_COMPONENT, ticketIntervalMs: 0 });
  const { logger, lines } = captureLogger('info');
  const wx = await open(sandboxConfig(sandbox), logger);
  const mounted = await mountOnFreePort(wx, mount);
  sandbox.setPlatform({ componentPushUrl: `${mounted.url}/wechat/component`, authorizerPushUrl: `${mounted.url}/wechat/authorizer/$APPID$` });
  const server = await wx.listen({ port: 0, host: '127.0.0.1' });
  await sandbox.settled();
  return {
    sandbox,
    wx,
    adapter: mounted.url,
    server,
    lines,
    async close() {
      await mounted.close();
      await wx.close();
      await sandbox.close();
    },
  };
}

export async function mountOnFreePort(wx: WxOpen, mount: (wx: WxOpen, port: number) => Promise<Mounted>): Promise<Mounted> {
  const [port] = await freePorts(1);
  return mount(wx, port!);
}

/** A node:http server (Express's, Koa's, @hono/node-server's) as `Mounted` once it listens. */
export function listening(server: Server, port: number): Promise<Mounted> {
  return new Promise((resolve, reject) => {
    const done = () => resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) });
    if (server.listening) done();
    else server.once('listening', done).once('error', reject);
  });
}

/** A ticket push signed and encrypted for the sandbox's component, as WeChat would post it. */
export function signedTicket(world: AdapterWorld, ticket: string): { query: Record<string, string>; body: string } {
  const { token, encodingAesKey, appid } = world.sandbox.state.component;
  const now = Math.floor(Date.now() / 1000);
  return signPush(buildXml({ AppId: appid, CreateTime: now, InfoType: 'component_verify_ticket', ComponentVerifyTicket: ticket }), { token, encodingAesKey, appid, timestamp: String(now) });
}

export interface Answer {
  status: number;
  type: string | null;
  body: string;
}

export async function post(base: string, path: string, query: Record<string, string>, body: string | ReadableStream<Uint8Array>, headers: Record<string, string> = { 'content-type': 'text/xml' }): Promise<Answer> {
  const init: RequestInit & { duplex?: 'half' } = { method: 'POST', headers, body };
  if (typeof body !== 'string') init.duplex = 'half';
  const res = await fetch(`${base}${path}?${new URLSearchParams(query)}`, init);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

/** A stream of `size` bytes in 1 KB chunks, sent chunked (no Content-Length). */
export function chunkedBody(size: number): ReadableStream<Uint8Array> {
  let left = size;
  return new ReadableStream({
    pull(controller) {
      if (left <= 0) return controller.close();
      const n = Math.min(1024, left);
      left -= n;
      controller.enqueue(new Uint8Array(n).fill(0x41));
    },
  });
}

/**
 * Bad input a push URL must refuse the way the server does: forged or stale signatures, malformed XML,
 * missing parameters, bodies over the limit (declared and streamed), a bad appid in the path. Each
 * case is a function so streamed bodies are fresh per request.
 */
export function badInputs(world: AdapterWorld): Array<[string, (base: string) => Promise<Answer>]> {
  const { token, encodingAesKey, appid } = world.sandbox.state.component;
  const now = String(Math.floor(Date.now() / 1000));
  const signed = signPush(buildXml({ AppId: appid, CreateTime: Number(now), InfoType: 'component_verify_ticket', ComponentVerifyTicket: 'ticket@@@bad-input' }), {
    token,
    encodingAesKey,
    appid,
    timestamp: now,
  });
  const encrypt = /<Encrypt><!\[CDATA\[(.*?)\]\]><\/Encrypt>/.exec(signed.body)?.[1] ?? '';
  return [
    ['a forged signature', (b) => post(b, '/wechat/component', { ...signed.query, msg_signature: 'f'.repeat(40) }, signed.body)],
    ['a stale timestamp', (b) => post(b, '/wechat/component', { ...signed.query, timestamp: '1000000000', msg_signature: computeMsgSignature(token, '1000000000', signed.query.nonce!, encrypt) }, signed.body)],
    ['malformed XML', (b) => post(b, '/wechat/component', signed.query, '<xml><Encrypt>abc</xml>')],
    ['a DOCTYPE (XXE)', (b) => post(b, '/wechat/component', signed.query, '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>')],
    ['no signature parameters', (b) => post(b, '/wechat/component', {}, signed.body)],
    ['a declared body over the limit', (b) => post(b, '/wechat/component', signed.query, 'x'.repeat(BODY_LIMIT + 1))],
    ['a streamed body over the limit', (b) => post(b, '/wechat/component', signed.query, chunkedBody(BODY_LIMIT * 3))],
    ['an authorizer path without an appid', (b) => post(b, '/wechat/authorizer/$APPID$', signed.query, signed.body)],
    ['a message signed for another token', (b) => post(b, '/wechat/authorizer/wx570bc396a51b8ff8', { ...signed.query, msg_signature: computeMsgSignature('other', now, signed.query.nonce!, encrypt) }, signed.body)],
  ];
}
