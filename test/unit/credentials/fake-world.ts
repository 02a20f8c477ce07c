/**
 * The in-process world the token-manager unit tests share: WeChat played by a fake fetch under the real
 * WeChatHttp, the real SecretBox and memory lock, a frozen clock the test moves by hand, captured logs and
 * metrics. Each test file brings its own fake store (the rows differ per manager).
 */
import { WeChatHttp } from '../../../src/api/http.js';
import { DEFAULT_CREDENTIAL_OPTIONS, type CredentialContext, type CredentialOptions } from '../../../src/credentials/context.js';
import { PlatformEvents } from '../../../src/credentials/events.js';
import { SecretBox } from '../../../src/crypto/secret-box.js';
import type { TokenCache } from '../../../src/lock/token-cache.js';
import { MemoryLockBackend } from '../../../src/lock/memory.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { captureLogger } from '../../helpers/logs.js';

export const T0 = Date.UTC(2026, 0, 15, 2, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 3600_000;
export const COMPONENT = 'wxcomponent0001';
/** The sealing key of every world: a box made from it opens what the world's box sealed. */
export const BOX_KEY = '11'.repeat(32);

export type Answer = Record<string, unknown>;

/**
 * WeChat in process. `answer` gives the JSON for each call (or a whole Response, e.g. a 502; or throws, as the
 * network does); every call is recorded with the host it went to.
 */
export function fakeWeChat(answer: (path: string, body: Answer, url: URL) => Answer | Response) {
  const calls: { host: string; path: string; body: Answer }[] = [];
  const count = (path: string) => calls.filter((c) => c.path === path).length;
  const fetch = (async (input: URL, init: { body?: string }) => {
    const url = new URL(input);
    const body = JSON.parse(init.body ?? '{}') as Answer;
    calls.push({ host: url.host, path: url.pathname, body });
    const a = answer(url.pathname, body, url);
    return a instanceof Response ? a : new Response(JSON.stringify(a), { headers: { 'content-type': 'application/json' } });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, calls, count };
}

/** A fetch failure as undici reports it: a TypeError whose cause carries the socket error code. */
export function networkError(code: string): TypeError {
  return Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code), { code }) });
}

export function credentialContext(o: {
  store: unknown;
  fetch: typeof globalThis.fetch;
  bases?: string[];
  cache?: TokenCache;
  credentials?: Partial<CredentialOptions>;
}) {
  const clock = { t: T0, now: () => clock.t };
  const box = new SecretBox([BOX_KEY]);
  const { logger, lines } = captureLogger('info');
  const metrics = createMetrics({ defaultMetrics: false });
  const events = new PlatformEvents();
  const http = new WeChatHttp({ bases: o.bases ?? ['http://wechat.test'], fetch: o.fetch, busyRetries: 1, busyBackoffMs: 0 });
  const options: CredentialOptions = { ...DEFAULT_CREDENTIAL_OPTIONS, lockPollMs: 1, ...o.credentials };
  const ctx = {
    componentAppid: COMPONENT,
    componentSecret: 'secret',
    store: o.store,
    http,
    lock: new MemoryLockBackend(clock),
    apiNamespace: 'test',
    cache: o.cache,
    box,
    clock,
    logger,
    metrics,
    events,
    options,
  } as unknown as CredentialContext;
  /** tokenRefreshes of one kind, by outcome. */
  const refreshes = async (kind: 'component' | 'authorizer') => {
    const m = await metrics.tokenRefreshes.get();
    return Object.fromEntries(m.values.filter((v) => v.labels.kind === kind).map((v) => [String(v.labels.outcome), v.value]));
  };
  return { ctx, clock, box, lines, metrics, events, refreshes };
}
