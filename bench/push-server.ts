/**
 * Child process of bench/push.ts: runs ONE server (`wxopen <databaseUrl>` or `minimal`; `idle` runs none) on
 * 127.0.0.1:0 and answers the parent's IPC probes (RSS, CPU time), so each server's numbers are its own.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { decodeAesKey } from '../src/crypto/aes-key.js';
import { decryptMessage } from '../src/crypto/message-cipher.js';
import { computeMsgSignature, safeCompare } from '../src/crypto/msg-signature.js';
import { loadConfig, type Config } from '../src/config.js';
import { startServer } from '../src/server/listen.js';
import { buildEncryptedReply } from '../src/crypto/reply.js';
import { buildXml } from '../src/xml/build.js';
import { parseXml } from '../src/xml/parse.js';

export type ToChild = { type: 'probe'; id: number } | { type: 'stop' };
export type FromChild =
  | { type: 'ready'; port: number }
  | { type: 'probe'; id: number; rss: number; cpuMicros: number }
  | { type: 'fatal'; message: string };

const send = (message: FromChild): void => {
  process.send?.(message);
};

function benchConfig(databaseUrl: string): Config {
  // Sandbox mode: no credential variables, so loadConfig fills in the sandbox ones.
  return loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    WXOPEN_DATABASE_URL: databaseUrl,
  });
}

/**
 * The baseline: the same verify + decrypt + parse with the same pure functions, on bare node:http,
 * answering `success`. No store, no dedupe, no metrics, no logging, no framework.
 */
async function startMinimal(config: Config): Promise<{ port: number; close(): Promise<void> }> {
  const aesKey = decodeAesKey(config.encodingAesKeys[0]!);
  const answer = (res: ServerResponse, status: number, text: string) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const isComponent = path === '/wechat/component';
    if (req.method !== 'POST' || (!isComponent && !path.startsWith('/wechat/authorizer/'))) return answer(res, 404, 'not found');
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const timestamp = query.get('timestamp');
    const nonce = query.get('nonce');
    const signature = query.get('msg_signature');
    if (!timestamp || !nonce || !signature || !/^\d{1,12}$/.test(timestamp)) return answer(res, 400, 'missing params');
    if (Math.abs(Math.floor(Date.now() / 1000) - Number(timestamp)) > config.pushMaxSkewSeconds) return answer(res, 401, 'stale');
    try {
      const envelope = parseXml(body, { maxLength: config.bodyLimitBytes, maxDepth: 2 });
      const encrypt = envelope.Encrypt;
      if (typeof encrypt !== 'string' || encrypt === '') return answer(res, 400, 'no Encrypt');
      if (!safeCompare(computeMsgSignature(config.token, timestamp, nonce, encrypt), signature)) return answer(res, 401, 'bad signature');
      const fields = parseXml(decryptMessage(encrypt, aesKey, config.componentAppid).message, { maxLength: config.bodyLimitBytes });
      if (isComponent && fields.AppId !== config.componentAppid) return answer(res, 401, 'appid mismatch');
      if (!isComponent && fields.Content === 'TESTCOMPONENT_MSG_TYPE_TEXT') {
        // The same release-test answer as wxopen's responder: reply XML, encrypted and signed.
        const now = String(Math.floor(Date.now() / 1000));
        const xml = buildXml({ ToUserName: String(fields.FromUserName), FromUserName: String(fields.ToUserName), CreateTime: Number(now), MsgType: 'text', Content: 'TESTCOMPONENT_MSG_TYPE_TEXT_callback' });
        const sealed = buildEncryptedReply(xml, { token: config.token, encodingAesKey: aesKey, appid: config.componentAppid, timestamp: now });
        res.writeHead(200, { 'content-type': 'application/xml; charset=utf-8', 'content-length': Buffer.byteLength(sealed) });
        return res.end(sealed);
      }
      return answer(res, 200, 'success');
    } catch (err) {
      return answer(res, 400, String(err));
    }
  };
  const server = createServer({ keepAliveTimeout: 72_000 }, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > config.bodyLimitBytes) req.destroy();
    });
    req.on('end', () => handle(req, res, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return {
    port: address.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function main(): Promise<void> {
  const [kind, databaseUrl] = process.argv.slice(2);
  let port: number;
  let close: () => Promise<void>;
  if (kind === 'wxopen') {
    if (databaseUrl === undefined) throw new Error('usage: push-server.ts wxopen <databaseUrl>');
    const running = await startServer(benchConfig(databaseUrl), { ensureTicket: false, refresher: false });
    port = Number(new URL(running.url).port);
    close = () => running.close();
  } else if (kind === 'minimal') {
    ({ port, close } = await startMinimal(benchConfig('sqlite::memory:')));
  } else if (kind === 'idle') {
    // No server: only measures what node itself costs, which every RSS figure includes.
    port = 0;
    close = async () => {};
  } else {
    throw new Error(`unknown server kind ${String(kind)}`);
  }
  process.on('message', (message: ToChild) => {
    if (message.type === 'probe') {
      const cpu = process.cpuUsage();
      send({ type: 'probe', id: message.id, rss: process.memoryUsage.rss(), cpuMicros: cpu.user + cpu.system });
    } else if (message.type === 'stop') {
      void close().finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', port });
}

main().catch((err: unknown) => {
  send({ type: 'fatal', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100);
});
