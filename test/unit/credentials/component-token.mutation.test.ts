/**
 * ComponentTokenManager against the in-process world of fake-world.ts (the real WeChatHttp over a fake fetch
 * playing WeChat, the real SecretBox and memory lock, a frozen clock moved by hand), a fake store whose writes
 * can be refused and which another instance can write to in between, and a fake TokenCache that records its
 * calls. Each case pins one edge of the token rules: the margins and the ticket age exactly at the edge, forced
 * refreshes joining or racing other refreshes, invalidation of exactly the token that failed, tokens held while
 * the store refuses writes, the cache, and what a failed refresh counts and asks for.
 */
import { describe, expect, it } from 'vitest';
import { ComponentTokenManager } from '../../../src/credentials/component-token.js';
import { DEFAULT_CREDENTIAL_OPTIONS, type CredentialOptions } from '../../../src/credentials/context.js';
import { SecretBox } from '../../../src/crypto/secret-box.js';
import { TicketMissingError, UpstreamError, WeChatApiError } from '../../../src/errors.js';
import type { TokenCache } from '../../../src/lock/token-cache.js';
import type { ComponentTokenRecord, StoredTicket } from '../../../src/store/types.js';
import { BOX_KEY, COMPONENT, HOUR, MINUTE, T0, credentialContext, fakeWeChat, networkError, type Answer } from './fake-world.js';

const TOKEN = '/cgi-bin/component/api_component_token';
const PUSH = '/cgi-bin/component/api_start_push_ticket';
const CACHE_KEY = `cat:${COMPONENT}:test`;
const REFUSED = 'attempt to write a readonly database';
const STORED_MSG = 'stored the component_access_token kept in memory while the store was refusing writes';
const { refreshAheadMs, ticketTtlMs } = DEFAULT_CREDENTIAL_OPTIONS;

/** A TokenCache that keeps entries in a map (no expiry) and records every call. */
function fakeCache() {
  const entries = new Map<string, { value: string; ttlMs: number }>();
  const ops: string[] = [];
  const cache: TokenCache = {
    get: async (key) => {
      // A guard, so a loop that only reads shows as a failure instead of a hang (the manager falls back to the store, which has one too).
      if (ops.length > 200) throw new Error('guard: too many cache calls');
      ops.push(`get ${key}`);
      return entries.get(key)?.value;
    },
    set: async (key, value, ttlMs) => {
      ops.push(`set ${key}`);
      entries.set(key, { value, ttlMs });
    },
    delete: async (key) => {
      ops.push(`delete ${key}`);
      entries.delete(key);
    },
    close: async () => undefined,
  };
  return { cache, entries, ops };
}

interface Stored {
  token: string;
  obtainedAt: number;
  expiresAt: number;
}

function world(opts: { stored?: Stored | null; cache?: boolean; bases?: string[]; credentials?: Partial<CredentialOptions> } = {}) {
  const box = new SecretBox([BOX_KEY]);
  const record = (s: Stored): ComponentTokenRecord => ({ componentAppid: COMPONENT, tokenEnc: box.seal(s.token, COMPONENT), obtainedAt: s.obtainedAt, expiresAt: s.expiresAt });
  const initial = opts.stored === undefined ? { token: 'stored', obtainedAt: T0 - HOUR, expiresAt: T0 + HOUR } : opts.stored;

  // The store: one token row and the newest ticket, as the real one keeps them.
  let row: ComponentTokenRecord | undefined = initial === null ? undefined : record(initial);
  const store = {
    mode: 'ok' as 'ok' | 'refuse',
    /** Called before every token read, e.g. to let another instance write in between. */
    onRead: undefined as undefined | ((n: number) => Promise<void> | void),
    /** Called before every ticket read (the first step of a refresh). */
    onTicket: undefined as undefined | ((n: number) => Promise<void> | void),
    reads: 0,
    ticketReads: 0,
    saves: 0,
    ticket: { componentAppid: COMPONENT, ticket: 'ticket-1', createTime: (T0 - 10 * MINUTE) / 1000, receivedAt: T0 - 10 * MINUTE } as StoredTicket | undefined,
    async getTicket() {
      await store.onTicket?.(++store.ticketReads);
      return store.ticket && { ...store.ticket };
    },
    async getComponentToken() {
      const n = ++store.reads;
      // A guard, so a loop that only reads shows as a failure instead of a hang.
      if (n > 100) throw new Error('guard: too many reads');
      await store.onRead?.(n);
      return row && { ...row };
    },
    async saveComponentToken(r: ComponentTokenRecord) {
      store.saves++;
      if (store.mode === 'refuse') throw new Error(REFUSED);
      row = { ...r };
    },
    async invalidateComponentToken(_c: string, obtainedAt: number) {
      if (row?.obtainedAt !== obtainedAt) return false;
      row = undefined;
      return true;
    },
    /** What another instance's refresh leaves in the store. */
    put(s: Stored) {
      row = record(s);
    },
    /** The stored token in clear, with its instants. */
    row(): Stored | undefined {
      return row && { token: box.open(row.tokenEnc, COMPONENT), obtainedAt: row.obtainedAt, expiresAt: row.expiresAt };
    },
  };

  // WeChat: the token call issues cat1, cat2, … unless `token` answers otherwise; a push request is accepted.
  const wechat = {
    expiresIn: 7200,
    token: undefined as undefined | ((body: Answer, n: number) => Answer | undefined),
    push: undefined as undefined | ((url: URL, n: number) => Answer | Response | undefined),
  };
  let issued = 0;
  const { fetch, calls, count } = fakeWeChat((path, body, url) => {
    if (path === TOKEN) return wechat.token?.(body, count(TOKEN)) ?? { component_access_token: `cat${++issued}`, expires_in: wechat.expiresIn };
    if (path === PUSH) return wechat.push?.(url, count(PUSH)) ?? { errcode: 0, errmsg: 'ok' };
    return { errcode: 40066, errmsg: `unexpected ${path}` };
  });

  const cache = opts.cache ? fakeCache() : undefined;
  const { ctx, clock, lines, metrics, refreshes } = credentialContext({ store, fetch, bases: opts.bases, cache: cache?.cache, credentials: opts.credentials });
  const manager = new ComponentTokenManager(ctx);
  return { clock, store, wechat, calls, count, cache, manager, lines, metrics, refreshes: () => refreshes('component') };
}

/** Answers the token call with an error once WeChat has been asked more than four times, so a loop shows as a failure instead of a hang. */
const guard = (_body: Answer, n: number): Answer | undefined => (n > 4 ? { errcode: 45009, errmsg: 'guard: too many refreshes' } : undefined);

describe('margins, exactly at the edge', () => {
  it('a stored token whose expiry minus the margin is now is not usable: a new token is fetched', async () => {
    const w = world({ stored: { token: 'stored', obtainedAt: T0 - HOUR, expiresAt: T0 + refreshAheadMs } });
    expect(await w.manager.get()).toBe('cat1');
    // One millisecond more lifetime and the stored token is served as it is.
    const v = world({ stored: { token: 'stored', obtainedAt: T0 - HOUR, expiresAt: T0 + refreshAheadMs + 1 } });
    expect(await v.manager.get()).toBe('stored');
    expect(v.count(TOKEN)).toBe(0);
  });

  it('a ticket exactly as old as its TTL is still used; one a millisecond older is not', async () => {
    const w = world({ stored: null });
    w.store.ticket!.receivedAt = T0 - ticketTtlMs;
    expect(await w.manager.get()).toBe('cat1');
    expect(w.calls.map((c) => c.body.component_verify_ticket)).toEqual(['ticket-1']);
    const v = world({ stored: null });
    v.store.ticket!.receivedAt = T0 - ticketTtlMs - 1;
    await expect(v.manager.get()).rejects.toBeInstanceOf(TicketMissingError);
    expect(v.count(TOKEN)).toBe(0);
  });
});

describe('forced refreshes', () => {
  it('joining a plain info() already in flight, a forced refresh still hands out a new token', async () => {
    const w = world();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // The plain info() reads the store first and is held there until the forced refresh has joined it.
    w.store.onRead = (n) => (n === 1 ? gate : undefined);
    const plain = w.manager.info();
    const forced = w.manager.forceRefresh();
    await new Promise((r) => setImmediate(r));
    release();
    expect((await plain).token).toBe('stored');
    expect(await forced).toEqual({ token: 'cat1', obtainedAt: T0, expiresAt: T0 + 7200_000 });
    expect(w.count(TOKEN)).toBe(1);
  });

  it('coming while a plain info() is asking WeChat, a forced refresh takes its new token: WeChat is asked once', async () => {
    const w = world({ stored: null });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // The plain info() holds the refresh lease and is held at its ticket read until the forced refresh has come.
    w.store.onTicket = (n) => (n === 1 ? gate : undefined);
    const plain = w.manager.info();
    await new Promise((r) => setImmediate(r));
    expect(w.store.ticketReads).toBe(1);
    const forced = w.manager.forceRefresh();
    await new Promise((r) => setImmediate(r));
    release();
    expect((await plain).token).toBe('cat1');
    expect((await forced).token).toBe('cat1');
    expect(w.count(TOKEN)).toBe(1);
  });

  it('a token another instance stored at the very millisecond the forced refresh began counts: WeChat is not asked', async () => {
    const w = world();
    w.store.onRead = (n) => {
      if (n === 1) w.store.put({ token: 'other-instance', obtainedAt: w.clock.now(), expiresAt: w.clock.now() + 2 * HOUR });
    };
    expect(await w.manager.forceRefresh()).toEqual({ token: 'other-instance', obtainedAt: T0, expiresAt: T0 + 2 * HOUR });
    expect(w.count(TOKEN)).toBe(0);
  });

  it('asks WeChat once even when the new token is already inside the refresh-ahead margin', async () => {
    const w = world();
    w.wechat.expiresIn = 300;
    w.wechat.token = guard;
    expect(await w.manager.forceRefresh()).toEqual({ token: 'cat1', obtainedAt: T0, expiresAt: T0 + 300_000 });
    expect(w.count(TOKEN)).toBe(1);
  });

  it('while the store refuses writes, returns the token WeChat issued and stops: WeChat is asked once', async () => {
    const w = world();
    w.store.mode = 'refuse';
    w.wechat.token = guard;
    const info = await w.manager.forceRefresh();
    expect(info).toEqual({ token: 'cat1', obtainedAt: T0, expiresAt: T0 + 7200_000 });
    expect(w.count(TOKEN)).toBe(1);
    expect(await w.manager.get()).toBe('cat1');
  });

  it('goes round at most once more: a clock stepped back while WeChat answers cannot make it ask again and again', async () => {
    const w = world();
    // Each answer lands a second "before" the call began (an NTP step), so no new token counts as newer.
    w.wechat.token = (body, n) => {
      w.clock.t -= 1000;
      return guard(body, n);
    };
    const info = await w.manager.forceRefresh();
    expect(info).toEqual({ token: 'cat2', obtainedAt: T0 - 2000, expiresAt: T0 - 2000 + 7200_000 });
    expect(w.count(TOKEN)).toBe(2);
  });
});

describe('invalidate drops only the token that failed', () => {
  it('invalidating an older token keeps the copy in memory; invalidating it drops it', async () => {
    const w = world();
    const info = await w.manager.info();
    await w.manager.invalidate(info.obtainedAt - 1);
    expect(w.manager.obtainedAtOf('stored')).toBe(info.obtainedAt);
    expect(w.store.row()?.token).toBe('stored');
    await w.manager.invalidate(info.obtainedAt);
    expect(w.manager.obtainedAtOf('stored')).toBeUndefined();
    expect(w.store.row()).toBeUndefined();
  });

  it('a token held while the store refuses writes is dropped only by invalidating that token', async () => {
    const w = world({ stored: null });
    w.store.mode = 'refuse';
    const held = await w.manager.info();
    expect(w.manager.holdsUnsaved).toBe(true);
    await w.manager.invalidate(held.obtainedAt - 1);
    expect(w.manager.holdsUnsaved).toBe(true);
    await w.manager.invalidate(held.obtainedAt);
    expect(w.manager.holdsUnsaved).toBe(false);
    // Nothing is left to serve: WeChat is asked for a new token.
    expect(await w.manager.get()).toBe('cat2');
  });

  it('the cached copy is deleted only when it is the token that failed', async () => {
    const w = world({ cache: true });
    const info = await w.manager.info();
    expect(w.cache!.entries.has(CACHE_KEY)).toBe(true);
    await w.manager.invalidate(info.obtainedAt - 1);
    expect(w.cache!.entries.has(CACHE_KEY)).toBe(true);
    expect(w.cache!.ops).not.toContain(`delete ${CACHE_KEY}`);
    await w.manager.invalidate(info.obtainedAt);
    expect(w.cache!.entries.has(CACHE_KEY)).toBe(false);
  });
});

describe('tokens held in memory while the store refuses writes', () => {
  it('the refused write is logged with the store error and counted', async () => {
    const w = world({ stored: null });
    w.store.mode = 'refuse';
    expect(await w.manager.get()).toBe('cat1');
    expect(w.lines.filter((l) => l.level === 50).map((l) => [l.msg, l.error])).toEqual([
      ['store refused the component_access_token; serving it from memory until the store recovers', REFUSED],
    ]);
    const failures = (await w.metrics.storeWriteFailures.get()).values.find((v) => v.labels.what === 'component_token')?.value;
    expect(failures).toBe(1);
  });

  it('a held token whose expiry minus the margin is now is dropped: a new one is fetched', async () => {
    const w = world({ stored: null });
    w.store.mode = 'refuse';
    const held = await w.manager.info();
    w.clock.t = held.expiresAt - refreshAheadMs;
    expect(await w.manager.get()).toBe('cat2');
    expect(w.count(TOKEN)).toBe(2);
  });

  it.each([
    ['a newer one', 1000],
    ['one obtained at the same millisecond', 0],
  ])('a held token is not written over %s another instance stored: that one is served', async (_what, later) => {
    const w = world({ stored: null });
    w.store.mode = 'refuse';
    expect(await w.manager.get()).toBe('cat1');
    w.store.mode = 'ok';
    w.store.put({ token: 'other-instance', obtainedAt: T0 + later, expiresAt: T0 + later + 2 * HOUR });
    // Past the memory copy's 30 s, the held token is written again (more than 5 s after the refused write).
    w.clock.t += 30_000;
    expect(await w.manager.get()).toBe('other-instance');
    expect(w.store.row()?.token).toBe('other-instance');
    expect(w.store.saves).toBe(1);
    expect(w.manager.holdsUnsaved).toBe(false);
  });

  it('a refresh with nothing held does not log that a held token was stored', async () => {
    const w = world({ stored: null });
    expect(await w.manager.get()).toBe('cat1');
    expect(w.lines.map((l) => l.msg)).toEqual(['token refreshed']);
  });
});

describe('the token cache', () => {
  it('a token read from the store fills the cache under cat:<appid>:<api namespace> for the rest of its life', async () => {
    const w = world({ cache: true });
    w.clock.t += 10 * MINUTE;
    expect(await w.manager.get()).toBe('stored');
    expect(w.cache!.ops).toEqual([`get ${CACHE_KEY}`, `set ${CACHE_KEY}`]);
    const entry = w.cache!.entries.get(CACHE_KEY)!;
    expect(entry.ttlMs).toBe(T0 + HOUR - w.clock.now());
    expect(JSON.parse(entry.value)).toMatchObject({ obtainedAt: T0 - HOUR, expiresAt: T0 + HOUR });
  });
});

describe('a refresh that fails', () => {
  it('another WeChat error is not retried with a newer ticket and asks for no push', async () => {
    const w = world({ stored: null });
    w.wechat.token = () => ({ errcode: 45009, errmsg: 'reach max api daily quota limit' });
    const err = await w.manager.get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeChatApiError);
    expect(err).toMatchObject({ errcode: 45009 });
    expect(w.count(TOKEN)).toBe(1);
    expect(w.count(PUSH)).toBe(0);
    expect(w.lines.filter((l) => l.level === 50)).toEqual([]);
    expect(await w.refreshes()).toEqual({ 45009: 1 });
  });

  it.each([61005, 61006])('%i, and a newer ticket arrived meanwhile: asked once more with the newest ticket', async (errcode) => {
    const w = world({ stored: null });
    w.wechat.token = (_body, n) => {
      if (n > 1) return undefined;
      w.store.ticket = { ...w.store.ticket!, ticket: 'ticket-2', receivedAt: T0 };
      return { errcode, errmsg: 'component ticket is expired' };
    };
    expect(await w.manager.get()).toBe('cat1');
    expect(w.calls.map((c) => c.body.component_verify_ticket)).toEqual(['ticket-1', 'ticket-2']);
    expect(w.count(PUSH)).toBe(0);
    expect(await w.refreshes()).toEqual({ ok: 1 });
  });

  it('WeChat unreachable is counted under the outcome "error"', async () => {
    const w = world({ stored: null });
    w.wechat.token = () => {
      throw networkError('ECONNREFUSED');
    };
    await expect(w.manager.get()).rejects.toBeInstanceOf(UpstreamError);
    expect(await w.refreshes()).toEqual({ error: 1 });
  });
});

describe('api_start_push_ticket is safe to repeat', () => {
  // A reset or a 5xx may come after WeChat received the request: only a call marked idempotent is sent again
  // (a refused connection fails over for any call). Asking for a push twice only means two pushes.
  it.each([
    ['a connection reset', (): Answer | Response => {
      throw networkError('ECONNRESET');
    }],
    ['an HTTP 502', (): Answer | Response => new Response('bad gateway', { status: 502 })],
  ])('after %s on the first host it is sent to the next one', async (_what, fail) => {
    const w = world({ stored: null, bases: ['http://api.wechat.test', 'http://api2.wechat.test'] });
    w.store.ticket = undefined;
    w.wechat.push = (url) => (url.host === 'api.wechat.test' ? fail() : undefined);
    expect(await w.manager.ensureTicket()).toBe('requested');
    expect(w.calls.filter((c) => c.path === PUSH).map((c) => c.host)).toEqual(['api.wechat.test', 'api2.wechat.test']);
  });

  it('a busy answer (-1) is asked again', async () => {
    const w = world({ stored: null });
    w.store.ticket = undefined;
    w.wechat.push = (_url, n) => (n === 1 ? { errcode: -1, errmsg: 'system error' } : undefined);
    expect(await w.manager.ensureTicket()).toBe('requested');
    expect(w.count(PUSH)).toBe(2);
  });
});

describe('a held token never shadows a newer stored one', () => {
  it('once the store accepts, the held token is written, logged as stored and cached for the rest of its life', async () => {
    const w = world({ stored: null, cache: true });
    w.store.mode = 'refuse';
    expect(await w.manager.get()).toBe('cat1');
    expect(w.cache!.entries.has(CACHE_KEY)).toBe(false);
    w.store.mode = 'ok';
    w.clock.t += 30_000;
    expect(await w.manager.get()).toBe('cat1');
    expect(w.store.row()).toEqual({ token: 'cat1', obtainedAt: T0, expiresAt: T0 + 7200_000 });
    expect(w.manager.holdsUnsaved).toBe(false);
    expect(w.lines.filter((l) => l.msg === STORED_MSG)).toHaveLength(1);
    const entry = w.cache!.entries.get(CACHE_KEY)!;
    expect(JSON.parse(entry.value)).toMatchObject({ obtainedAt: T0, expiresAt: T0 + 7200_000 });
    expect(entry.ttlMs).toBe(7200_000 - 30_000);
  });

  it('a refreshed token the store accepts is cached for its whole life', async () => {
    const w = world({ stored: null, cache: true });
    expect(await w.manager.get()).toBe('cat1');
    const entry = w.cache!.entries.get(CACHE_KEY)!;
    expect(JSON.parse(entry.value)).toMatchObject({ obtainedAt: T0, expiresAt: T0 + 7200_000 });
    expect(entry.ttlMs).toBe(7200_000);
  });

  it('with a cache: a held token the store already has a newer one for is dropped, not cached; the newer one is served', async () => {
    const w = world({ stored: null, cache: true });
    w.store.mode = 'refuse';
    expect(await w.manager.get()).toBe('cat1');
    w.store.mode = 'ok';
    w.store.put({ token: 'other-instance', obtainedAt: T0 + 1000, expiresAt: T0 + 1000 + 2 * HOUR });
    w.clock.t += 30_000;
    expect(await w.manager.get()).toBe('other-instance');
    expect(w.store.row()?.token).toBe('other-instance');
    expect(JSON.parse(w.cache!.entries.get(CACHE_KEY)!.value)).toMatchObject({ obtainedAt: T0 + 1000 });
    expect(w.manager.holdsUnsaved).toBe(false);
    // It was not stored, so the log does not say so.
    expect(w.lines.map((l) => l.msg)).not.toContain(STORED_MSG);
    expect(w.lines.map((l) => l.msg)).toContain('dropped the component_access_token kept in memory: the store holds a newer one');
  });

  it('a refresh the store records drops the older held token: nothing is held, and the new token is served after the memory copy', async () => {
    const w = world({ stored: null, cache: true });
    w.store.mode = 'refuse';
    expect(await w.manager.get()).toBe('cat1');
    w.store.mode = 'ok';
    w.clock.t += 1000;
    expect((await w.manager.forceRefresh()).token).toBe('cat2');
    expect(w.manager.holdsUnsaved).toBe(false);
    w.clock.t += 30_000;
    expect(await w.manager.get()).toBe('cat2');
    expect(w.store.row()?.token).toBe('cat2');
    expect(JSON.parse(w.cache!.entries.get(CACHE_KEY)!.value)).toMatchObject({ obtainedAt: T0 + 1000 });
    expect(w.store.saves).toBe(2);
    expect(w.lines.map((l) => l.msg)).not.toContain(STORED_MSG);
  });

  it('without a memory copy, the older held token is not served once the new one is stored', async () => {
    const w = world({ stored: null, credentials: { memoryCacheMs: 0 } });
    w.store.mode = 'refuse';
    expect(await w.manager.get()).toBe('cat1');
    w.store.mode = 'ok';
    w.clock.t += 1000;
    expect((await w.manager.forceRefresh()).token).toBe('cat2');
    // Within 5 s of the refresh: no write of the held token is tried, and it must not be what is served.
    expect(await w.manager.get()).toBe('cat2');
  });
});
