import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decryptMessage } from '../../src/crypto/message-cipher.js';
import { computeMsgSignature, computeSignature } from '../../src/crypto/msg-signature.js';
import { buildEncryptedReply } from '../../src/crypto/reply.js';
import { DEFAULT_SANDBOX_COMPONENT, startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';
import { parseXml, type XmlObject } from '../../src/xml/parse.js';
import { clearOfChinaMidnight } from '../helpers/china-day.js';

export const COMPONENT = DEFAULT_SANDBOX_COMPONENT;
export const OA = 'wx3a7f2c9e1b4d6f80';
export const OA2 = 'wx8b1e4d2f6a9c3057';
export const MP = 'wx5c9d0e3a7f1b2846';
export const MP2 = 'wx2e6f8a1c4b7d9035';
/** A mini program with no nickname set (86002 on submit_audit). */
export const MP_NO_NAME = 'wx7d3b5f9e2a6c1048';

export interface ReceivedPush {
  path: string;
  query: Record<string, string>;
  envelope: XmlObject;
  fields: XmlObject;
  /** The signature checks a real platform does; false would mean the sandbox signs wrongly. */
  signatureOk: boolean;
}

/** A stand-in platform: receives pushes, checks signatures, decrypts them with the component key. */
export interface FakePlatform {
  url: string;
  pushes: ReceivedPush[];
  /** Passive reply (plaintext XML) for messages to the message URL; undefined answers `success`. */
  onMessage: ((fields: XmlObject) => string | undefined) | undefined;
  /** HTTP status to answer with (to simulate a broken platform). */
  status: number;
  waitFor(predicate: (p: ReceivedPush) => boolean, timeoutMs?: number): Promise<ReceivedPush>;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startPlatform(): Promise<FakePlatform> {
  const platform: FakePlatform = {
    url: '',
    pushes: [],
    onMessage: undefined,
    status: 200,
    async waitFor(predicate, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = platform.pushes.find(predicate);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`push not received; got ${JSON.stringify(platform.pushes.map((p) => p.fields))}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://localhost');
      const query = Object.fromEntries(url.searchParams);
      const envelope = parseXml(body);
      const encrypt = String(envelope.Encrypt);
      const signatureOk =
        computeMsgSignature(COMPONENT.token, query.timestamp!, query.nonce!, encrypt) === query.msg_signature &&
        computeSignature(COMPONENT.token, query.timestamp!, query.nonce!) === query.signature &&
        query.encrypt_type === 'aes';
      const fields = parseXml(decryptMessage(encrypt, COMPONENT.encodingAesKey, COMPONENT.appid).message);
      platform.pushes.push({ path: url.pathname, query, envelope, fields, signatureOk });
      if (platform.status !== 200) {
        res.writeHead(platform.status).end('broken');
        return;
      }
      const reply = url.pathname.startsWith('/wechat/authorizer/') ? platform.onMessage?.(fields) : undefined;
      if (reply === undefined) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('success');
        return;
      }
      const sealed = buildEncryptedReply(reply, { token: COMPONENT.token, encodingAesKey: COMPONENT.encodingAesKey, appid: COMPONENT.appid });
      res.writeHead(200, { 'content-type': 'application/xml' }).end(sealed);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  platform.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return platform;
}

export interface World {
  sandbox: Sandbox;
  platform: FakePlatform;
  close(): Promise<void>;
}

/**
 * A sandbox wired to a fake platform; the first ticket push has arrived when this resolves. Its base clock
 * is frozen at the start, so only `advance()` moves sandbox time: expiry edges can be tested to the
 * millisecond and a slow machine cannot cross a boundary.
 */
export async function startWorld(options: SandboxOptions = {}): Promise<World> {
  const platform = await startPlatform();
  const startedAt = clearOfChinaMidnight(Date.now());
  const sandbox = await startSandbox({
    platform: { componentPushUrl: `${platform.url}/wechat/component`, authorizerPushUrl: `${platform.url}/wechat/authorizer/$APPID$` },
    clock: { now: () => startedAt },
    ...options,
  });
  await platform.waitFor((p) => p.fields.InfoType === 'component_verify_ticket');
  return {
    sandbox,
    platform,
    async close() {
      await sandbox.close();
      await platform.close();
    },
  };
}

export interface ApiResult {
  status: number;
  json: Record<string, unknown>;
  errcode: number;
}

/** Calls the sandbox like a client of WeChat would. `body` is sent as JSON unless it is a string. */
export async function call(
  base: string,
  path: string,
  options: { query?: Record<string, string>; body?: unknown; method?: 'GET' | 'POST' } = {},
): Promise<ApiResult> {
  const url = new URL(path, base);
  for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  const init: RequestInit = { method };
  if (options.body !== undefined) {
    init.body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { raw: text };
  }
  return { status: res.status, json, errcode: Number(json.errcode ?? 0) };
}

export async function componentToken(sandbox: Sandbox): Promise<string> {
  const ticket = sandbox.state.latestTicket ?? (await sandbox.pushTicket());
  const r = await call(sandbox.url, '/cgi-bin/component/api_component_token', {
    body: { component_appid: COMPONENT.appid, component_appsecret: COMPONENT.secret, component_verify_ticket: ticket },
  });
  if (typeof r.json.component_access_token !== 'string') throw new Error(`no CAT: ${JSON.stringify(r.json)}`);
  return r.json.component_access_token;
}

/** Authorizes `appid` with `funcIds` and exchanges the auth code, as a platform does after the callback. */
export async function authorizedToken(
  sandbox: Sandbox,
  cat: string,
  appid: string,
  funcIds?: number[],
): Promise<{ aat: string; art: string }> {
  const { authCode } = await sandbox.authorize(appid, funcIds);
  const r = await call(sandbox.url, '/cgi-bin/component/api_query_auth', {
    query: { component_access_token: cat },
    body: { component_appid: COMPONENT.appid, authorization_code: authCode },
  });
  const info = r.json.authorization_info as Record<string, string>;
  return { aat: info.authorizer_access_token!, art: info.authorizer_refresh_token! };
}

export const MINUTE_MS = 60_000;
