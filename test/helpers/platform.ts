import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config.js';
import { signPush } from '../../src/crypto/reply.js';
import { buildApp } from '../../src/server/app.js';
import type { AppContext, MessageHandler } from '../../src/server/context.js';
import { createStore } from '../../src/store/create-store.js';
import type { Store } from '../../src/store/types.js';
import { createLogger } from '../../src/util/logger.js';
import { buildXml, type XmlInputObject } from '../../src/xml/build.js';

/** A clock tests move by hand. */
export class ManualClock {
  constructor(public ms = Date.now()) {}
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface TestPlatform {
  url: string;
  config: Config;
  store: Store;
  context: AppContext;
  clock: ManualClock;
  /** Every log line the app wrote, parsed. */
  logs: Record<string, unknown>[];
  /** POSTs a raw push. */
  post(path: string, query: Record<string, string>, body: string, headers?: Record<string, string>): Promise<{ status: number; text: string }>;
  /** Builds and POSTs a correctly signed, encrypted push of `fields`. */
  push(fields: XmlInputObject, options?: { path?: string; toUserName?: string; timestamp?: string; encodingAesKey?: string; appid?: string }): Promise<{ status: number; text: string }>;
  close(): Promise<void>;
}

export async function startTestPlatform(options: { env?: Record<string, string>; onMessage?: MessageHandler[]; store?: Store } = {}): Promise<TestPlatform> {
  const config = loadConfig({ LOG_LEVEL: 'debug', WXOPEN_DATABASE_URL: 'sqlite::memory:', ...options.env });
  const store = options.store ?? (await createStore(config.databaseUrl));
  const clock = new ManualClock();
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  const { app, context } = await buildApp({ config, store, logger, clock, onMessage: options.onMessage });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const post: TestPlatform['post'] = async (path, query, body, headers = { 'content-type': 'text/xml' }) => {
    const res = await fetch(`${url}${path}?${new URLSearchParams(query)}`, { method: 'POST', headers, body });
    return { status: res.status, text: await res.text() };
  };

  return {
    url,
    config,
    store,
    context,
    clock,
    logs,
    post,
    push(fields, o = {}) {
      const signed = signPush(buildXml(fields), {
        token: config.token,
        encodingAesKey: o.encodingAesKey ?? config.encodingAesKeys[0]!,
        appid: o.appid ?? config.componentAppid,
        timestamp: o.timestamp ?? String(Math.floor(clock.now() / 1000)),
        toUserName: o.toUserName,
      });
      return post(o.path ?? '/wechat/component', signed.query, signed.body);
    },
    async close() {
      await app.close();
      await context.pushes.drain();
      await store.close();
    },
  };
}
