/**
 * AuthorizerTokenManager against an in-process world (fake-world.ts): the real WeChatHttp over a fake fetch that
 * plays WeChat, the real SecretBox and memory lock, a fake store whose writes can be refused or lose a race, and a
 * frozen clock (as in refresher.unit.test.ts). Each case pins one edge of the token rules: the margins (exactly at the edge), tokens held while the store refuses writes, forced refreshes joining or racing other
 * refreshes, a refresh that loses the compare-and-set, and the refresh-token recovery (candidates, list paging).
 */
import { describe, expect, it } from 'vitest';
import { AuthorizerTokenManager } from '../../../src/credentials/authorizer-token.js';
import { DEFAULT_CREDENTIAL_OPTIONS, type CredentialOptions } from '../../../src/credentials/context.js';
import { SecretBox } from '../../../src/crypto/secret-box.js';
import { ReauthorizationRequiredError, WeChatApiError } from '../../../src/errors.js';
import type { AuthorizerRecord, RefreshedTokensInput } from '../../../src/store/types.js';
import { BOX_KEY, COMPONENT, HOUR, MINUTE, T0, credentialContext, fakeWeChat, type Answer } from './fake-world.js';

const APPID = 'wxauthorizer0001';
const AAT = '/cgi-bin/component/api_authorizer_token';
const LIST = '/cgi-bin/component/api_get_authorizer_list';
const aad = (appid: string) => `${COMPONENT}:${appid}`;

function world(opts: { credentials?: Partial<CredentialOptions>; accessExpiresAt?: number | null; refreshTokenEnc?: null; appids?: string[] } = {}) {
  const box = new SecretBox([BOX_KEY]);

  // The store: one row per authorizer, versioned like the real one (every write bumps the version).
  const rows = new Map<string, AuthorizerRecord>();
  for (const appid of opts.appids ?? [APPID]) {
    const expires = opts.accessExpiresAt === undefined ? T0 + HOUR : opts.accessExpiresAt;
    rows.set(appid, {
      componentAppid: COMPONENT,
      authorizerAppid: appid,
      status: 'authorized',
      statusReason: null,
      funcInfo: [],
      refreshTokenEnc: opts.refreshTokenEnc === null ? null : box.seal(`rt0-${appid}`, aad(appid)),
      accessTokenEnc: expires === null ? null : box.seal(`stored-${appid}`, aad(appid)),
      accessExpiresAt: expires,
      version: 1,
      authorizedAt: T0 - HOUR,
      updatedAt: T0 - HOUR,
      info: null,
      eventTime: null,
    });
  }
  const store = {
    mode: 'ok' as 'ok' | 'refuse' | 'conflict',
    /** Called before every read, e.g. to let another instance write in between. */
    onRead: undefined as undefined | ((n: number) => Promise<void> | void),
    reads: 0,
    saves: 0,
    log: [] as string[],
    async getAuthorizer(_c: string, a: string) {
      const n = ++store.reads;
      await store.onRead?.(n);
      const r = rows.get(a);
      return r && { ...r };
    },
    async saveRefreshedTokens(input: RefreshedTokensInput): Promise<'saved' | 'conflict'> {
      store.saves++;
      if (store.mode === 'refuse') throw new Error('attempt to write a readonly database');
      const r = rows.get(input.authorizerAppid)!;
      if (store.mode === 'conflict') {
        // A re-authorization landed while WeChat was answering: the row moved on by several writes.
        r.version += 5;
        return 'conflict';
      }
      if (r.version !== input.expectedVersion) return 'conflict';
      Object.assign(r, { refreshTokenEnc: input.refreshTokenEnc, accessTokenEnc: input.accessTokenEnc, accessExpiresAt: input.accessExpiresAt, version: r.version + 1 });
      return 'saved';
    },
    async invalidateAuthorizerAccessToken(_c: string, a: string, version: number) {
      const r = rows.get(a)!;
      if (r.version !== version) return false;
      Object.assign(r, { accessTokenEnc: null, accessExpiresAt: null, version: r.version + 1 });
      return true;
    },
    async recentRefreshTokens(_c: string, _a: string, limit: number) {
      return store.log.slice(0, limit).map((t) => ({ refreshTokenEnc: box.seal(t, aad(APPID)), source: 'refresh', createdAt: T0 }));
    },
    async setAuthorizerStatus(_c: string, a: string, status: AuthorizerRecord['status'], reason: string | null) {
      Object.assign(rows.get(a)!, { status, statusReason: reason });
    },
  };

  // WeChat: api_authorizer_token issues numbered tokens unless `aat` answers otherwise; the list is empty.
  let issued = 0;
  const wechat = {
    expiresIn: 7200,
    aat: undefined as undefined | ((body: Answer, n: number) => Answer | undefined),
    list: (_body: Answer, _n: number): Answer => ({ errcode: 0, total_count: 0, list: [] }),
  };
  const { fetch, calls, count } = fakeWeChat((path, body) => {
    if (path === AAT) {
      const appid = String(body.authorizer_appid);
      return wechat.aat?.(body, count(AAT)) ?? { authorizer_access_token: `at${++issued}-${appid}`, expires_in: wechat.expiresIn, authorizer_refresh_token: `rt${issued}-${appid}` };
    }
    if (path === LIST) return wechat.list(body, count(LIST));
    return { errcode: 40066, errmsg: `unexpected ${path}` };
  });

  const component = { info: async () => ({ token: 'cat', obtainedAt: T0, expiresAt: T0 + 2 * HOUR }), get: async () => 'cat', invalidate: async () => undefined };
  const { ctx, clock, lines, events, refreshes: byKind } = credentialContext({ store, fetch, credentials: opts.credentials });
  const manager = new AuthorizerTokenManager(ctx, component as never);
  const refreshes = () => byKind('authorizer');
  return { clock, store, rows, wechat, calls, count, manager, lines, events, refreshes };
}

const dead = { errcode: 61023, errmsg: 'invalid refresh_token' };

describe('margins, exactly at the edge', () => {
  it('a copy in memory whose expiry minus the asked margin is now is not served: a new token is fetched', async () => {
    const w = world({ accessExpiresAt: null });
    const first = await w.manager.info(APPID);
    expect(w.count(AAT)).toBe(1);
    // Same instant, the copy is 0 ms old; asking for exactly its remaining lifetime leaves no room.
    const second = await w.manager.info(APPID, { minValidMs: first.expiresAt - w.clock.now() });
    expect(second.token).not.toBe(first.token);
    expect(w.count(AAT)).toBe(2);
  });

  it('a stored token whose expiry minus the margin is now is not usable: a new token is fetched', async () => {
    const w = world({ accessExpiresAt: T0 + DEFAULT_CREDENTIAL_OPTIONS.refreshAheadMs });
    const info = await w.manager.info(APPID);
    expect(info.token).not.toBe(`stored-${APPID}`);
    expect(w.count(AAT)).toBe(1);
    // One millisecond more lifetime and the stored token is served as it is.
    const v = world({ accessExpiresAt: T0 + DEFAULT_CREDENTIAL_OPTIONS.refreshAheadMs + 1 });
    expect((await v.manager.info(APPID)).token).toBe(`stored-${APPID}`);
    expect(v.count(AAT)).toBe(0);
  });
});

describe('tokens held in memory while the store refuses writes', () => {
  it('a held token without the asked margin is not served: a new one is fetched', async () => {
    const w = world({ accessExpiresAt: T0 + MINUTE });
    w.store.mode = 'refuse';
    const held = await w.manager.info(APPID);
    expect(held.expiresAt).toBe(T0 + 7200_000);
    // Same instant (no retry of the write yet): the held token has exactly 2 h left, not more.
    const next = await w.manager.info(APPID, { minValidMs: 7200_000 });
    expect(next.token).not.toBe(held.token);
    expect(w.count(AAT)).toBe(2);
    // With a margin it still has, the held token is served (and WeChat is not asked again).
    expect((await w.manager.info(APPID, { minValidMs: 7200_000 - 1 })).token).toBe(next.token);
    expect(w.count(AAT)).toBe(2);
  });

  it('forceRefresh returns the token WeChat issued and stops, though the row keeps its version: WeChat is asked once', async () => {
    const w = world();
    w.store.mode = 'refuse';
    // A guard, so a loop that never ends shows as a failure instead of a hang.
    w.wechat.aat = (_b, n) => (n > 4 ? { errcode: 45009, errmsg: 'guard: too many refreshes' } : undefined);
    const info = await w.manager.forceRefresh(APPID);
    expect(info).toEqual({ token: `at1-${APPID}`, expiresAt: T0 + 7200_000, version: 1 });
    expect(w.count(AAT)).toBe(1);
    expect(await w.manager.get(APPID)).toBe(info.token);
  });

  it('the next refresh uses the refresh token WeChat rotated in the refresh the store refused, not the stored one', async () => {
    const w = world({ accessExpiresAt: T0 });
    w.store.mode = 'refuse';
    // The stored rt0 is dead once WeChat has rotated it: only the held rt1 is accepted.
    w.wechat.aat = (body) => (body.authorizer_refresh_token === `rt0-${APPID}` && w.count(AAT) > 1 ? { errcode: 61023, errmsg: 'invalid refresh_token' } : undefined);
    expect(await w.manager.get(APPID)).toBe(`at1-${APPID}`);
    w.clock.t += 2 * HOUR;
    expect(await w.manager.get(APPID)).toBe(`at2-${APPID}`);
    expect(w.calls.filter((c) => c.path === AAT).map((c) => c.body.authorizer_refresh_token)).toEqual([`rt0-${APPID}`, `rt1-${APPID}`]);
    // Once the store accepts again, the newest pair is written: the row holds rt2.
    w.store.mode = 'ok';
    w.clock.t += 2 * HOUR;
    expect(await w.manager.get(APPID)).toBe(`at3-${APPID}`);
    expect(w.calls.filter((c) => c.path === AAT).map((c) => c.body.authorizer_refresh_token)).toEqual([`rt0-${APPID}`, `rt1-${APPID}`, `rt2-${APPID}`]);
  });

  it('held tokens stop counting once the row has changed (a re-authorization): the stored refresh token is used', async () => {
    const w = world({ accessExpiresAt: T0 });
    w.store.mode = 'refuse';
    expect(await w.manager.get(APPID)).toBe(`at1-${APPID}`);
    // The merchant authorizes again; the row (written by the authorization flow) moves on with its own refresh token.
    Object.assign(w.rows.get(APPID)!, { refreshTokenEnc: new SecretBox([BOX_KEY]).seal(`rtR-${APPID}`, aad(APPID)), version: 7 });
    w.clock.t += 2 * HOUR;
    expect(await w.manager.get(APPID)).toBe(`at2-${APPID}`);
    expect(w.calls.filter((c) => c.path === AAT).map((c) => c.body.authorizer_refresh_token)).toEqual([`rt0-${APPID}`, `rtR-${APPID}`]);
  });

  it('a refresh the store records supersedes the held tokens: they are not written over it later', async () => {
    const w = world({ accessExpiresAt: T0 });
    w.store.mode = 'refuse';
    expect(await w.manager.get(APPID)).toBe(`at1-${APPID}`);
    w.store.mode = 'ok';
    // Within 5 s of the refused write the held pair is not retried; the forced refresh (with the held rt1) is saved.
    w.clock.t += 1_000;
    expect((await w.manager.forceRefresh(APPID)).token).toBe(`at2-${APPID}`);
    const saves = w.store.saves;
    w.clock.t += 60_000;
    expect(await w.manager.get(APPID)).toBe(`at2-${APPID}`);
    expect(w.store.saves).toBe(saves);
    expect(w.lines.map((l) => l.msg)).not.toContain('stored the authorizer tokens kept in memory while the store was refusing writes');
  });
});

describe('forced refreshes', () => {
  it('joining a plain info() already in flight, a forced refresh still hands out a new token', async () => {
    const w = world();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // The plain info() reads the store first and is held there until the forced refresh has joined it.
    w.store.onRead = (n) => (n === 1 ? gate : undefined);
    const plain = w.manager.info(APPID);
    const forced = w.manager.forceRefresh(APPID);
    await new Promise((r) => setImmediate(r));
    release();
    expect((await plain).token).toBe(`stored-${APPID}`);
    const info = await forced;
    expect(info.token).toBe(`at1-${APPID}`);
    expect(info.version).toBe(2);
    expect(w.count(AAT)).toBe(1);
  });

  it('asks WeChat once even when the new token is already inside the refresh-ahead margin', async () => {
    const w = world();
    w.wechat.expiresIn = 300;
    const info = await w.manager.forceRefresh(APPID);
    expect(info).toEqual({ token: `at1-${APPID}`, expiresAt: T0 + 300_000, version: 2 });
    expect(w.count(AAT)).toBe(1);
  });

  it('a refresh another instance committed after the call began counts: WeChat is not asked', async () => {
    const w = world();
    w.store.onRead = (n) => {
      // Right after the forced refresh read the version, another instance commits a new token.
      if (n === 2) Object.assign(w.rows.get(APPID)!, { accessTokenEnc: new SecretBox([BOX_KEY]).seal('other-instance', aad(APPID)), accessExpiresAt: T0 + 2 * HOUR, version: 2 });
    };
    const info = await w.manager.forceRefresh(APPID);
    expect(info).toEqual({ token: 'other-instance', expiresAt: T0 + 2 * HOUR, version: 2 });
    expect(w.count(AAT)).toBe(0);
  });

  it('two authorizers forced at once each get their own token', async () => {
    const w = world({ appids: [APPID, 'wxauthorizer0002'] });
    const [a, b] = await Promise.all([w.manager.forceRefresh(APPID), w.manager.forceRefresh('wxauthorizer0002')]);
    expect(a.token).toMatch(new RegExp(`-${APPID}$`));
    expect(b.token).toMatch(/-wxauthorizer0002$/);
    expect(w.count(AAT)).toBe(2);
  });
});

describe('versions', () => {
  it('a refresh through info() hands out the version it committed, and versionOf names it', async () => {
    const w = world({ accessExpiresAt: null });
    const info = await w.manager.info(APPID);
    expect(info.version).toBe(2);
    expect(w.rows.get(APPID)!.version).toBe(2);
    expect(w.manager.versionOf(APPID, info.token)).toBe(2);
  });

  it('invalidating an older version keeps the copy in memory', async () => {
    const w = world();
    const info = await w.manager.info(APPID);
    await w.manager.invalidate(APPID, info.version - 1);
    expect(w.manager.versionOf(APPID, info.token)).toBe(info.version);
    await w.manager.invalidate(APPID, info.version);
    expect(w.manager.versionOf(APPID, info.token)).toBeUndefined();
  });

  it('a row that is authorized but has no refresh token needs re-authorization, even with a valid access token', async () => {
    const w = world({ refreshTokenEnc: null });
    const err = await w.manager.info(APPID).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReauthorizationRequiredError);
    expect(err).toMatchObject({ authorizerAppid: APPID, status: 'authorized' });
  });
});

describe('a refresh that loses the compare-and-set', () => {
  it('counts a conflict, warns, hands out the new token with the row version, emits no token.refreshed', async () => {
    const w = world({ accessExpiresAt: null });
    w.store.mode = 'conflict';
    const seen: unknown[] = [];
    w.events.on('token.refreshed', (e) => seen.push(e));
    const info = await w.manager.info(APPID);
    expect(info).toEqual({ token: `at1-${APPID}`, expiresAt: T0 + 7200_000, version: 6 });
    expect(await w.refreshes()).toEqual({ conflict: 1 });
    expect(seen).toEqual([]);
    expect(w.lines.filter((l) => l.level === 40).map((l) => [l.msg, l.authorizerAppid])).toEqual([
      ['authorizer row changed during refresh; kept both refresh tokens', APPID],
    ]);
  });
});

describe('refresh-token recovery', () => {
  it('a candidate WeChat also calls dead is skipped; the next one recovers', async () => {
    const w = world({ accessExpiresAt: null });
    w.wechat.aat = (b) => (b.authorizer_refresh_token === 'rt-good' ? undefined : dead);
    w.wechat.list = () => ({ errcode: 0, total_count: 1, list: [{ authorizer_appid: APPID, refresh_token: 'rt-listed' }] });
    w.store.log = ['rt-good'];
    const recovered: unknown[] = [];
    w.events.on('authorizer.refresh_token_recovered', (e) => recovered.push(e));
    const info = await w.manager.info(APPID);
    expect(info.token).toBe(`at1-${APPID}`);
    expect(recovered).toEqual([{ authorizerAppid: APPID, source: 'log' }]);
    expect(w.calls.filter((c) => c.path === AAT).map((c) => c.body.authorizer_refresh_token)).toEqual([`rt0-${APPID}`, 'rt-listed', 'rt-good']);
    expect(w.rows.get(APPID)!.status).toBe('authorized');
  });

  it('a candidate failing for another reason ends the recovery with that error; the authorizer is not flagged', async () => {
    const w = world({ accessExpiresAt: null });
    w.wechat.aat = (b) => (b.authorizer_refresh_token === 'rt-listed' ? { errcode: 45009, errmsg: 'reach max api daily quota limit' } : dead);
    w.wechat.list = () => ({ errcode: 0, total_count: 1, list: [{ authorizer_appid: APPID, refresh_token: 'rt-listed' }] });
    const err = await w.manager.info(APPID).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeChatApiError);
    expect(err).toMatchObject({ errcode: 45009 });
    expect(w.rows.get(APPID)!.status).toBe('authorized');
  });

  it('the authorizer list is asked again after a busy answer (it is safe to repeat)', async () => {
    const w = world({ accessExpiresAt: null });
    w.wechat.aat = (b) => (b.authorizer_refresh_token === 'rt-listed' ? undefined : dead);
    w.wechat.list = (_b, n) => (n === 1 ? { errcode: -1, errmsg: 'system error' } : { errcode: 0, total_count: 1, list: [{ authorizer_appid: APPID, refresh_token: 'rt-listed' }] });
    const info = await w.manager.info(APPID);
    expect(info.token).toBe(`at1-${APPID}`);
    expect(w.count(LIST)).toBe(2);
  });

  it('a list that never ends (total_count lies) is read for 200 pages, then the authorizer is flagged', async () => {
    const w = world({ accessExpiresAt: null });
    w.wechat.aat = () => dead;
    // A guard, so paging that never stops shows as a failure instead of a hang.
    w.wechat.list = (_b, n) => (n > 250 ? { errcode: 45009, errmsg: 'guard' } : { errcode: 0, total_count: 1_000_000, list: [{ authorizer_appid: 'wxsomeoneelse', refresh_token: 'r' }] });
    await expect(w.manager.info(APPID)).rejects.toBeInstanceOf(ReauthorizationRequiredError);
    expect(w.count(LIST)).toBe(200);
    expect(w.calls.filter((c) => c.path === LIST).at(-1)!.body.offset).toBe(199 * 500);
    expect(w.rows.get(APPID)!.status).toBe('needs_reauthorization');
  });
});
