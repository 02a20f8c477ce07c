import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTargetRecord } from '../../src/fleet/model.js';
import type { AuthorizationInput, FleetJobRecord, FleetTargetRecord, MessageRecord, PushRecord, Store } from '../../src/store/types.js';

/**
 * The behaviour every Store adapter must have. Fixtures are hostile on purpose: quotes, SQL fragments,
 * CJK and emoji in identifiers and payloads.
 */
export function storeContract(name: string, open: () => Promise<Store>, teardown?: () => Promise<void>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let n = 0;
    const component = () => `wx'comp"${++n}--;drop table x`;
    const push = (componentAppid: string, over: Partial<PushRecord> = {}): PushRecord => ({
      componentAppid,
      dedupeKey: `k${++n}`,
      infoType: 'authorized',
      authorizerAppid: 'wxf8b4f85f3a794e77',
      createTime: 1_700_000_000 + n,
      receivedAt: 1_700_000_000_000 + n,
      payload: `<xml><A><![CDATA[中文 😀 '"\\ ${n}]]></A></xml>`,
      ...over,
    });

    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store.close();
      await teardown?.();
    });

    it('migrates idempotently and answers ping', async () => {
      await store.migrate();
      await store.migrate();
      expect(await store.ping()).toBe(true);
    });

    it('has no ticket before the first push', async () => {
      expect(await store.getTicket(component())).toBeUndefined();
    });

    it('stores a ticket and keeps no push history for it', async () => {
      const c = component();
      const ticket = { componentAppid: c, ticket: `ticket@@@'; --${n}`, createTime: 1_700_000_000, receivedAt: 1_700_000_000_123 };
      expect(await store.recordTicket(ticket)).toBe('stored');
      expect(await store.getTicket(c)).toEqual(ticket);
      expect(await store.listPushes(c)).toEqual([]);
    });

    it('records a replayed ticket push once and leaves the stored one alone', async () => {
      const c = component();
      const first = { componentAppid: c, ticket: 'first', createTime: 1000, receivedAt: 1 };
      expect(await store.recordTicket(first)).toBe('stored');
      expect(await store.recordTicket({ ...first, receivedAt: 5 })).toBe('duplicate');
      expect(await store.getTicket(c)).toEqual(first);
      // The same ticket value in a later push is news: its receipt time is what keeps it valid.
      expect(await store.recordTicket({ ...first, createTime: 1600, receivedAt: 600 })).toBe('stored');
      expect(await store.getTicket(c)).toMatchObject({ ticket: 'first', createTime: 1600, receivedAt: 600 });
      // A different ticket at the same CreateTime is the newer delivery.
      expect(await store.recordTicket({ ...first, ticket: 'second', createTime: 1600, receivedAt: 601 })).toBe('stored');
      expect((await store.getTicket(c))?.ticket).toBe('second');
    });

    it('keeps the newest ticket by CreateTime even when an older push arrives later', async () => {
      const c = component();
      await store.recordTicket({ componentAppid: c, ticket: 'newer', createTime: 2000, receivedAt: 1 });
      expect(await store.recordTicket({ componentAppid: c, ticket: 'older', createTime: 1000, receivedAt: 2 })).toBe('superseded');
      expect(await store.getTicket(c)).toMatchObject({ ticket: 'newer', createTime: 2000, receivedAt: 1 });
      expect(await store.recordTicket({ componentAppid: c, ticket: 'newest', createTime: 3000, receivedAt: 3 })).toBe('stored');
      expect(await store.getTicket(c)).toMatchObject({ ticket: 'newest', createTime: 3000 });
    });

    it('stores a ticket once under concurrent deliveries of one push', async () => {
      const c = component();
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => store.recordTicket({ componentAppid: c, ticket: 't', createTime: 7, receivedAt: 7 })));
      expect(outcomes.filter((o) => o === 'stored')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(19);
    });

    it('keeps components apart', async () => {
      const a = component();
      const b = component();
      const p = push(a);
      await store.recordPush(p);
      await store.recordTicket({ componentAppid: a, ticket: 'a', createTime: 1, receivedAt: 1 });
      // The same dedupe key under another component is a different push.
      expect(await store.recordPush({ ...p, componentAppid: b })).toBe('stored');
      expect(await store.getTicket(b)).toBeUndefined();
      expect(await store.listPushes(a)).toHaveLength(1);
      expect(await store.listPushes(b)).toHaveLength(1);
    });

    it('lists newest first with limit and type filter, and prunes by age', async () => {
      const c = component();
      for (let i = 0; i < 5; i++) await store.recordPush(push(c, { infoType: i % 2 ? 'authorized' : 'unauthorized', authorizerAppid: `wxa${i}`, receivedAt: 1000 + i }));
      const all = await store.listPushes(c);
      expect(all.map((p) => p.receivedAt)).toEqual([1004, 1003, 1002, 1001, 1000]);
      expect(await store.listPushes(c, { limit: 2 })).toHaveLength(2);
      const authorized = await store.listPushes(c, { infoType: 'authorized' });
      expect(authorized.map((p) => p.authorizerAppid)).toEqual(['wxa3', 'wxa1']);
      expect(await store.prunePushes(c, 1002)).toBe(2);
      expect(await store.listPushes(c)).toHaveLength(3);
    });

    it('processes a push once under concurrent deliveries', async () => {
      const c = component();
      const p = push(c);
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, () => store.recordPush(p)),
      );
      expect(outcomes.filter((o) => o === 'stored')).toHaveLength(1);
      expect(await store.listPushes(c)).toHaveLength(1);
    });

    describe('credentials', () => {
      const auth = (c: string, a: string, over: Partial<AuthorizationInput> = {}): AuthorizationInput => ({
        componentAppid: c,
        authorizerAppid: a,
        funcInfo: [1, 18, 1001],
        refreshTokenEnc: `refresh-${++n}-'"`,
        accessTokenEnc: `access-${n}`,
        accessExpiresAt: 10_000 + n,
        at: 5_000 + n,
        ...over,
      });

      it('stores the component token and invalidates it only if it is still the failed one', async () => {
        const c = component();
        expect(await store.getComponentToken(c)).toBeUndefined();
        await store.saveComponentToken({ componentAppid: c, tokenEnc: 'one', expiresAt: 100, obtainedAt: 1 });
        await store.saveComponentToken({ componentAppid: c, tokenEnc: 'two', expiresAt: 200, obtainedAt: 2 });
        expect(await store.getComponentToken(c)).toEqual({ componentAppid: c, tokenEnc: 'two', expiresAt: 200, obtainedAt: 2 });
        expect(await store.invalidateComponentToken(c, 1)).toBe(false);
        expect((await store.getComponentToken(c))?.tokenEnc).toBe('two');
        expect(await store.invalidateComponentToken(c, 2)).toBe(true);
        expect(await store.getComponentToken(c)).toBeUndefined();
      });

      it('saves an authorization, and a re-authorization replaces tokens and func_info', async () => {
        const c = component();
        const first = await store.saveAuthorization(auth(c, 'wxA'));
        expect(first).toMatchObject({ status: 'authorized', version: 1, funcInfo: [1, 18, 1001], accessExpiresAt: expect.any(Number) });
        const again = auth(c, 'wxA', { funcInfo: [17] });
        const second = await store.saveAuthorization(again);
        expect(second).toMatchObject({ version: 2, funcInfo: [17], refreshTokenEnc: again.refreshTokenEnc });
        expect((await store.recentRefreshTokens(c, 'wxA', 10)).map((r) => r.source)).toEqual(['query_auth', 'query_auth']);
      });

      it('writes a refresh only at the expected version, and logs its refresh token either way', async () => {
        const c = component();
        const a = await store.saveAuthorization(auth(c, 'wxB'));
        const input = { componentAppid: c, authorizerAppid: 'wxB', expectedVersion: a.version, refreshTokenEnc: 'rotated-1', accessTokenEnc: 'at-1', accessExpiresAt: 99, at: 7 };
        expect(await store.saveRefreshedTokens(input)).toBe('saved');
        expect(await store.getAuthorizer(c, 'wxB')).toMatchObject({ refreshTokenEnc: 'rotated-1', accessTokenEnc: 'at-1', accessExpiresAt: 99, version: a.version + 1 });
        expect(await store.saveRefreshedTokens({ ...input, refreshTokenEnc: 'rotated-late' })).toBe('conflict');
        expect((await store.getAuthorizer(c, 'wxB'))?.refreshTokenEnc).toBe('rotated-1');
        expect((await store.recentRefreshTokens(c, 'wxB', 2)).map((r) => r.refreshTokenEnc)).toEqual(['rotated-late', 'rotated-1']);
      });

      it('lets exactly one of several concurrent refreshes win', async () => {
        const c = component();
        const a = await store.saveAuthorization(auth(c, 'wxC'));
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            store.saveRefreshedTokens({ componentAppid: c, authorizerAppid: 'wxC', expectedVersion: a.version, refreshTokenEnc: `r${i}`, accessTokenEnc: `a${i}`, accessExpiresAt: i, at: i }),
          ),
        );
        expect(results.filter((r) => r === 'saved')).toHaveLength(1);
        expect(await store.recentRefreshTokens(c, 'wxC', 50)).toHaveLength(11);
      });

      it('invalidates an access token only at the version that failed', async () => {
        const c = component();
        const a = await store.saveAuthorization(auth(c, 'wxD'));
        expect(await store.invalidateAuthorizerAccessToken(c, 'wxD', a.version + 5)).toBe(false);
        expect(await store.invalidateAuthorizerAccessToken(c, 'wxD', a.version)).toBe(true);
        expect(await store.getAuthorizer(c, 'wxD')).toMatchObject({ accessTokenEnc: null, accessExpiresAt: null, refreshTokenEnc: a.refreshTokenEnc });
      });

      it('replaces a refresh token at the expected version (recovery) and clears needs_reauthorization', async () => {
        const c = component();
        const a = await store.saveAuthorization(auth(c, 'wxE'));
        await store.setAuthorizerStatus(c, 'wxE', 'needs_reauthorization', '61023', 9);
        const flagged = (await store.getAuthorizer(c, 'wxE'))!;
        expect(flagged).toMatchObject({ status: 'needs_reauthorization', statusReason: '61023', refreshTokenEnc: a.refreshTokenEnc });
        expect(await store.replaceRefreshToken(c, 'wxE', flagged.version - 1, 'x', 'list', 10)).toBe(false);
        expect(await store.replaceRefreshToken(c, 'wxE', flagged.version, 'from-list', 'list', 10)).toBe(true);
        expect(await store.getAuthorizer(c, 'wxE')).toMatchObject({ status: 'authorized', statusReason: null, refreshTokenEnc: 'from-list' });
      });

      it('unauthorized deletes both tokens; refreshes no longer apply', async () => {
        const c = component();
        const a = await store.saveAuthorization(auth(c, 'wxF'));
        await store.setAuthorizerStatus(c, 'wxF', 'unauthorized', null, 11);
        const r = (await store.getAuthorizer(c, 'wxF'))!;
        expect(r).toMatchObject({ status: 'unauthorized', refreshTokenEnc: null, accessTokenEnc: null });
        expect(await store.saveRefreshedTokens({ componentAppid: c, authorizerAppid: 'wxF', expectedVersion: r.version, refreshTokenEnc: 'x', accessTokenEnc: 'y', accessExpiresAt: 1, at: 1 })).toBe('conflict');
        void a;
      });

      it('lists by status, expiry and page, counts by status, and stores info', async () => {
        const c = component();
        for (let i = 0; i < 5; i++) await store.saveAuthorization(auth(c, `wx${i}`, { accessExpiresAt: 1000 * i }));
        await store.setAuthorizerStatus(c, 'wx4', 'needs_reauthorization', '61023', 1);
        expect((await store.listAuthorizers(c, { accessExpiringBefore: 2500, status: 'authorized' })).map((a) => a.authorizerAppid)).toEqual(['wx0', 'wx1', 'wx2']);
        expect((await store.listAuthorizers(c, { after: 'wx1', limit: 2 })).map((a) => a.authorizerAppid)).toEqual(['wx2', 'wx3']);
        expect(await store.countAuthorizers(c)).toEqual({ authorized: 4, needs_reauthorization: 1, unauthorized: 0, missing_upstream: 0 });
        await store.updateAuthorizerInfo(c, 'wx0', { nick_name: '商户 😀', user_name: 'gh_1' }, 3);
        expect((await store.getAuthorizer(c, 'wx0'))?.info).toEqual({ nick_name: '商户 😀', user_name: 'gh_1' });
      });

      it('keeps the newest 20 logged refresh tokens', async () => {
        const c = component();
        const a = await store.saveAuthorization(auth(c, 'wxG'));
        let version = a.version;
        for (let i = 0; i < 25; i++) {
          await store.saveRefreshedTokens({ componentAppid: c, authorizerAppid: 'wxG', expectedVersion: version++, refreshTokenEnc: `r${i}`, accessTokenEnc: 'a', accessExpiresAt: 1, at: i });
        }
        const log = await store.recentRefreshTokens(c, 'wxG', 100);
        expect(log).toHaveLength(20);
        expect(log[0]!.refreshTokenEnc).toBe('r24');
      });

      it("applies authorizations in event order, and logs a stale one's refresh token anyway", async () => {
        const c = component();
        expect((await store.applyAuthorization(auth(c, 'wxH', { funcInfo: [1], eventTime: 1000 }))).outcome).toBe('applied');
        const newer = await store.applyAuthorization(auth(c, 'wxH', { funcInfo: [1, 2], eventTime: 2000 }));
        expect(newer).toMatchObject({ outcome: 'applied', record: { funcInfo: [1, 2], eventTime: 2000, version: 2 } });
        const late = auth(c, 'wxH', { funcInfo: [9], eventTime: 1500 });
        const stale = await store.applyAuthorization(late);
        expect(stale).toMatchObject({ outcome: 'stale', record: { funcInfo: [1, 2], eventTime: 2000, version: 2 } });
        expect((await store.recentRefreshTokens(c, 'wxH', 1))[0]?.refreshTokenEnc).toBe(late.refreshTokenEnc);
        // Equal times apply: the later delivery wins.
        expect((await store.applyAuthorization(auth(c, 'wxH', { funcInfo: [3], eventTime: 2000 }))).outcome).toBe('applied');
        // Without an event time the write is unconditional and stamped with its own time.
        expect(await store.saveAuthorization(auth(c, 'wxH', { funcInfo: [4], at: 1_000_000 }))).toMatchObject({ funcInfo: [4], eventTime: 1000 });
      });

      it('revokes only when no newer event set the state', async () => {
        const c = component();
        await store.applyAuthorization(auth(c, 'wxI', { eventTime: 5000 }));
        expect(await store.revokeAuthorization(c, 'wxI', 4999, 'unauthorized push', 1)).toBe('stale');
        expect(await store.getAuthorizer(c, 'wxI')).toMatchObject({ status: 'authorized', refreshTokenEnc: expect.any(String), eventTime: 5000 });
        expect(await store.revokeAuthorization(c, 'wxI', 5001, 'unauthorized push', 2)).toBe('revoked');
        expect(await store.getAuthorizer(c, 'wxI')).toMatchObject({ status: 'unauthorized', refreshTokenEnc: null, accessTokenEnc: null, eventTime: 5001 });
        expect(await store.revokeAuthorization(c, 'wxNobody', 1, 'unauthorized push', 3)).toBe('unknown');
        // An older authorization arriving after the revoke does not resurrect the row.
        expect((await store.applyAuthorization(auth(c, 'wxI', { eventTime: 5000 }))).outcome).toBe('stale');
        expect((await store.applyAuthorization(auth(c, 'wxI', { eventTime: 5002 }))).record.status).toBe('authorized');
      });

      it('keeps exchanges to retry: recorded once, due by time, updated, pruned after expiry', async () => {
        const c = component();
        const e = { componentAppid: c, codeKey: `k'${++n}`, codeEnc: 'sealed 😀', authorizerAppid: 'wxJ', eventTime: 100, receivedAt: 1000, expiresAt: 601_000, nextAttemptAt: 1000 };
        expect(await store.recordExchange(e)).toBe(true);
        expect(await store.recordExchange({ ...e, codeEnc: 'other' })).toBe(false);
        expect(await store.getExchange(c, e.codeKey)).toEqual({ ...e, attempts: 0, state: 'pending', lastError: null });
        expect(await store.dueExchanges(c, 999, 10)).toEqual([]);
        expect((await store.dueExchanges(c, 1000, 10)).map((x) => x.codeKey)).toEqual([e.codeKey]);
        await store.updateExchange(c, e.codeKey, { state: 'pending', attempts: 1, nextAttemptAt: 5000, lastError: 'errcode -1', at: 1001 });
        expect(await store.dueExchanges(c, 4999, 10)).toEqual([]);
        expect(await store.getExchange(c, e.codeKey)).toMatchObject({ attempts: 1, nextAttemptAt: 5000, lastError: 'errcode -1' });
        await store.updateExchange(c, e.codeKey, { state: 'done', attempts: 2, nextAttemptAt: 601_000, lastError: null, at: 5001 });
        expect(await store.dueExchanges(c, 10_000_000, 10)).toEqual([]);
        expect(await store.pruneExchanges(c, 601_000)).toBe(0);
        expect(await store.pruneExchanges(c, 601_001)).toBe(1);
        expect(await store.getExchange(c, e.codeKey)).toBeUndefined();
      });

      it('answers the write probe', async () => {
        expect(await store.probeWrite(1)).toBe(true);
        expect(await store.probeWrite(2)).toBe(true);
      });
    describe('operator keys and audit', () => {
      const key = (c: string, keyId: string) => ({
        componentAppid: c,
        keyId,
        name: `svc '"; drop 😀`,
        secretHash: 'ab'.repeat(32),
        scopes: ['tokens:read'],
        authorizers: ['wxA', "wx'B"],
        createdAt: 5,
        revokedAt: null,
      });

      it('creates a key once, reads and lists it, and keeps components apart', async () => {
        const c = component();
        expect(await store.createApiKey(key(c, 'k1'))).toBe(true);
        expect(await store.createApiKey({ ...key(c, 'k1'), secretHash: 'cd'.repeat(32) })).toBe(false);
        expect(await store.getApiKey(c, 'k1')).toEqual(key(c, 'k1'));
        expect(await store.createApiKey({ ...key(c, 'k2'), authorizers: null, createdAt: 6 })).toBe(true);
        expect((await store.listApiKeys(c)).map((k) => [k.keyId, k.authorizers])).toEqual([['k1', ['wxA', "wx'B"]], ['k2', null]]);
        expect(await store.listApiKeys(component())).toEqual([]);
      });

      it('revokes once; replacing the secret un-revokes', async () => {
        const c = component();
        await store.createApiKey(key(c, 'operator'));
        expect(await store.revokeApiKey(c, 'operator', 9)).toBe(true);
        expect(await store.revokeApiKey(c, 'operator', 10)).toBe(false);
        expect((await store.getApiKey(c, 'operator'))?.revokedAt).toBe(9);
        expect(await store.replaceApiKeySecret(c, 'operator', 'ef'.repeat(32), 11)).toBe(true);
        expect(await store.getApiKey(c, 'operator')).toMatchObject({ secretHash: 'ef'.repeat(32), revokedAt: null });
        expect(await store.replaceApiKeySecret(c, 'nope', 'ef'.repeat(32), 11)).toBe(false);
      });

      it('appends audit rows and lists them newest first, filtered', async () => {
        const c = component();
        await store.recordAudit({ componentAppid: c, at: 1, keyId: 'k1', action: 'token.read', target: 'wxA', detail: null });
        await store.recordAudit({ componentAppid: c, at: 2, keyId: 'operator', action: 'authorizer.refresh', target: 'wxB', detail: '{"x":"中文"}' });
        await store.recordAudit({ componentAppid: c, at: 3, keyId: 'k1', action: 'token.read', target: 'wxB', detail: null });
        expect((await store.listAudit(c)).map((a) => a.at)).toEqual([3, 2, 1]);
        expect((await store.listAudit(c, { keyId: 'k1', target: 'wxA' })).map((a) => a.at)).toEqual([1]);
        expect((await store.listAudit(c, { action: 'authorizer.refresh' }))[0]).toMatchObject({ keyId: 'operator', detail: '{"x":"中文"}' });
        expect(await store.listAudit(c, { limit: 1 })).toHaveLength(1);
      });
    });
    });

    describe('message log', () => {
      const message = (componentAppid: string, over: Partial<MessageRecord> = {}): MessageRecord => ({
        componentAppid,
        authorizerAppid: 'wx570bc396a51b8ff8',
        dedupeKey: `wx570bc396a51b8ff8:m:${++n}`,
        type: 'message.text',
        fromUser: `o'user"${n}`,
        createTime: 1_700_000_000 + n,
        receivedAt: 1_700_000_000_000 + n,
        payload: `<xml><Content><![CDATA[中文 😀 '"\\ ${n}]]></Content></xml>`,
        ...over,
      });

      it('stores a message once by its dedupe key, concurrently too', async () => {
        const c = component();
        const m = message(c);
        const outcomes = await Promise.all([store.recordMessage(m), store.recordMessage({ ...m, receivedAt: m.receivedAt + 5 }), store.recordMessage(m)]);
        expect(outcomes.sort()).toEqual(['duplicate', 'duplicate', 'stored']);
        const listed = await store.listMessages(c);
        expect(listed).toHaveLength(1);
        // Concurrent writers race: whichever insert won is the one stored, once.
        expect(listed[0]).toMatchObject({ ...m, receivedAt: expect.any(Number), id: expect.any(Number) });
        expect([m.receivedAt, m.receivedAt + 5]).toContain(listed[0]!.receivedAt);
        // The same key under another component is another message.
        expect(await store.recordMessage({ ...m, componentAppid: component() })).toBe('stored');
      });

      it('lists newest first, filtered by authorizer, exact type, type prefix, time range and page', async () => {
        const c = component();
        const t0 = 1_800_000_000_000;
        const rows = [
          message(c, { type: 'message.text', receivedAt: t0 }),
          message(c, { type: 'event.weapp_audit_success', receivedAt: t0 + 1000 }),
          message(c, { type: 'event.subscribe', receivedAt: t0 + 2000, authorizerAppid: 'wxd101a85aa106f53e' }),
          message(c, { type: 'message.image', receivedAt: t0 + 3000 }),
        ];
        for (const r of rows) expect(await store.recordMessage(r)).toBe('stored');
        const keys = (list: { dedupeKey: string }[]) => list.map((m) => m.dedupeKey);
        expect(keys(await store.listMessages(c))).toEqual(rows.map((r) => r.dedupeKey).reverse());
        expect(keys(await store.listMessages(c, { authorizerAppid: 'wxd101a85aa106f53e' }))).toEqual([rows[2]!.dedupeKey]);
        expect(keys(await store.listMessages(c, { type: 'event.*' }))).toEqual([rows[2]!.dedupeKey, rows[1]!.dedupeKey]);
        expect(keys(await store.listMessages(c, { type: 'message.text' }))).toEqual([rows[0]!.dedupeKey]);
        expect(keys(await store.listMessages(c, { type: 'event.weapp_*' }))).toEqual([rows[1]!.dedupeKey]);
        expect(keys(await store.listMessages(c, { since: t0 + 1000, until: t0 + 3000 }))).toEqual([rows[2]!.dedupeKey, rows[1]!.dedupeKey]);
        const page1 = await store.listMessages(c, { limit: 2 });
        expect(keys(page1)).toEqual([rows[3]!.dedupeKey, rows[2]!.dedupeKey]);
        expect(keys(await store.listMessages(c, { limit: 2, beforeId: page1[1]!.id }))).toEqual([rows[1]!.dedupeKey, rows[0]!.dedupeKey]);
      });

      it('prunes old messages in bounded batches, oldest first, one component only', async () => {
        const c = component();
        const other = component();
        const t0 = 1_900_000_000_000;
        for (let i = 0; i < 7; i++) await store.recordMessage(message(c, { receivedAt: t0 + i }));
        await store.recordMessage(message(other, { receivedAt: t0 }));
        expect(await store.pruneMessages(c, t0 + 5, 3)).toBe(3);
        expect((await store.listMessages(c)).map((m) => m.receivedAt).sort()).toEqual([t0 + 3, t0 + 4, t0 + 5, t0 + 6]);
        expect(await store.pruneMessages(c, t0 + 5, 3)).toBe(2);
        expect(await store.pruneMessages(c, t0 + 5, 3)).toBe(0);
        expect((await store.listMessages(c)).map((m) => m.receivedAt).sort()).toEqual([t0 + 5, t0 + 6]);
        expect(await store.listMessages(other)).toHaveLength(1);
      });
    });
  
    describe('api: login sessions, jsapi tickets, JS-SDK domains', () => {
      it('stores a login session once, reads it back, deletes and prunes', async () => {
        const c = component();
        const rec = { componentAppid: c, sessionId: `s'"${n}`, authorizerAppid: 'wxM', openid: 'o中文😀', unionid: null, sessionKeyEnc: 'v1.k.iv.tag.ct', createdAt: 10, expiresAt: 100 };
        await store.saveLoginSession(rec);
        expect(await store.getLoginSession(c, rec.sessionId)).toEqual(rec);
        await expect(store.saveLoginSession(rec)).rejects.toThrow();
        expect(await store.getLoginSession(component(), rec.sessionId)).toBeUndefined();
        await store.saveLoginSession({ ...rec, sessionId: 'later', expiresAt: 1000, unionid: 'u1' });
        expect(await store.pruneLoginSessions(c, 500)).toBe(1);
        expect(await store.getLoginSession(c, rec.sessionId)).toBeUndefined();
        expect(await store.getLoginSession(c, 'later')).toMatchObject({ unionid: 'u1' });
        expect(await store.deleteLoginSession(c, 'later')).toBe(true);
        expect(await store.deleteLoginSession(c, 'later')).toBe(false);
      });

      it('keeps one jsapi ticket per authorizer and invalidates only the one that failed', async () => {
        const c = component();
        expect(await store.getJsapiTicket(c, 'wxJ')).toBeUndefined();
        await store.saveJsapiTicket({ componentAppid: c, authorizerAppid: 'wxJ', ticketEnc: 't1', expiresAt: 7200, obtainedAt: 1 });
        await store.saveJsapiTicket({ componentAppid: c, authorizerAppid: 'wxJ', ticketEnc: 't2', expiresAt: 9000, obtainedAt: 2 });
        expect(await store.getJsapiTicket(c, 'wxJ')).toEqual({ componentAppid: c, authorizerAppid: 'wxJ', ticketEnc: 't2', expiresAt: 9000, obtainedAt: 2 });
        expect(await store.invalidateJsapiTicket(c, 'wxJ', 1)).toBe(false);
        expect(await store.invalidateJsapiTicket(c, 'wxJ', 2)).toBe(true);
        expect(await store.getJsapiTicket(c, 'wxJ')).toBeUndefined();
      });

      it('replaces the JS-SDK domain list of an authorizer', async () => {
        const c = component();
        expect(await store.getJssdkDomains(c, 'wxD')).toEqual([]);
        await store.setJssdkDomains(c, 'wxD', ['shop.example.com', "x'; drop"], 1);
        await store.setJssdkDomains(c, 'wxD', ['m.example.com'], 2);
        expect(await store.getJssdkDomains(c, 'wxD')).toEqual(['m.example.com']);
        expect(await store.getJssdkDomains(c, 'wxOther')).toEqual([]);
      });
    });

    describe('fleet: deploy jobs and merchant state machines', () => {
      const job = (c: string, jobId: string, over: Partial<FleetJobRecord> = {}): FleetJobRecord => ({
        componentAppid: c,
        jobId,
        templateId: 2 ** 40,
        userVersion: `1.0.0'"中文`,
        userDesc: "desc'; --",
        options: { submitAudit: true, audit: { item_list: [{ title: '首页 😀' }] } },
        status: 'running',
        pause: null,
        total: 3,
        createdBy: null,
        createdAt: 1_700_000_000_000,
        updatedAt: 1_700_000_000_000,
        finishedAt: null,
        ...over,
      });
      const target = (c: string, jobId: string, appid: string, over: Partial<FleetTargetRecord> = {}): FleetTargetRecord => ({
        ...newTargetRecord(c, jobId, appid, `{"extAppid":"${appid}","q":"'\\""}`, 100),
        updatedAt: 1,
        ...over,
      });

      it('stores a job with its targets and reads them back', async () => {
        const c = component();
        const many = Array.from({ length: 1201 }, (_, i) => target(c, 'fj_big', `wx${String(i).padStart(16, '0')}`));
        await store.createFleetJob(job(c, 'fj_big', { total: many.length }), many);
        expect(await store.getFleetJob(c, 'fj_big')).toEqual(job(c, 'fj_big', { total: many.length }));
        expect(await store.getFleetJob(component(), 'fj_big')).toBeUndefined();
        expect(await store.countFleetTargets(c, 'fj_big')).toEqual({ pending: 1201 });
        const page = await store.listFleetTargets(c, 'fj_big', { limit: 2, offset: 1 });
        expect(page.map((t) => t.appid)).toEqual(['wx0000000000000001', 'wx0000000000000002']);
        expect(page[0]).toEqual(many[1]);
        expect(await store.getFleetTarget(c, 'fj_big', 'wx0000000000000005')).toEqual(many[5]);
        expect(await store.listFleetTargets(c, 'fj_big', { states: [] })).toEqual([]);
      });

      it('writes a target only at the version it read (compare-and-set)', async () => {
        const c = component();
        await store.createFleetJob(job(c, 'fj_cas'), [target(c, 'fj_cas', 'wxA')]);
        const w1 = await store.updateFleetTarget(c, 'fj_cas', 'wxA', 0, { intent: 'commit', intentAt: 5, leaseUntil: 50, attempts: 1, auditid: 2 ** 40 + 1 });
        expect(w1).toMatchObject({ version: 1, intent: 'commit', intentAt: 5, leaseUntil: 50, attempts: 1, auditid: 2 ** 40 + 1, state: 'pending' });
        expect(await store.updateFleetTarget(c, 'fj_cas', 'wxA', 0, { state: 'failed' })).toBeUndefined();
        const w2 = await store.updateFleetTarget(c, 'fj_cas', 'wxA', 1, { state: 'failed', intent: null, errcode: -1, errmsg: "busy '中'", errorStep: 'commit', nextAt: null });
        expect(w2).toMatchObject({ version: 2, state: 'failed', intent: null, errcode: -1, errmsg: "busy '中'", errorStep: 'commit', nextAt: null, intentAt: 5 });
        expect(await store.listFleetTargets(c, 'fj_cas', { states: ['failed'] })).toHaveLength(1);
      });

      it('lists due targets of running jobs only, with no live lease, earliest first', async () => {
        const c = component();
        await store.createFleetJob(job(c, 'fj_run'), [
          target(c, 'fj_run', 'wx1', { nextAt: 30 }),
          target(c, 'fj_run', 'wx2', { nextAt: 10 }),
          target(c, 'fj_run', 'wx3', { nextAt: 500 }),
          target(c, 'fj_run', 'wx4', { nextAt: 5, leaseUntil: 200 }),
          target(c, 'fj_run', 'wx5', { nextAt: 5, leaseUntil: 50 }),
          target(c, 'fj_run', 'wx6', { nextAt: null }),
        ]);
        await store.createFleetJob(job(c, 'fj_paused', { status: 'paused' }), [target(c, 'fj_paused', 'wx1', { nextAt: 1 })]);
        expect((await store.dueFleetTargets(c, 100, 10)).map((t) => t.appid)).toEqual(['wx5', 'wx2', 'wx1']);
        expect((await store.dueFleetTargets(c, 100, 2)).map((t) => t.appid)).toEqual(['wx5', 'wx2']);
        expect(await store.dueFleetTargets(component(), 100, 10)).toEqual([]);
        expect((await store.findFleetTargetsByAppid(c, 'wx1', ['pending'])).map((t) => t.jobId).sort()).toEqual(['fj_paused', 'fj_run']);
        expect(await store.findFleetTargetsByAppid(c, 'wx1', [])).toEqual([]);
      });

      it('moves a job between statuses only from the expected ones, newest job first', async () => {
        const c = component();
        await store.createFleetJob(job(c, 'fj_1', { createdAt: 1 }), []);
        await store.createFleetJob(job(c, 'fj_2', { createdAt: 2 }), []);
        const pause = { code: 'audit_quota', errcode: 85085, message: "quota '中'", at: 9 };
        expect(await store.updateFleetJob(c, 'fj_1', { status: 'paused', pause, updatedAt: 9 }, ['running'])).toBe(true);
        expect(await store.updateFleetJob(c, 'fj_1', { status: 'paused' }, ['running'])).toBe(false);
        expect(await store.getFleetJob(c, 'fj_1')).toMatchObject({ status: 'paused', pause, updatedAt: 9 });
        expect(await store.updateFleetJob(c, 'fj_1', { status: 'done', pause: null, finishedAt: 10 })).toBe(true);
        expect(await store.getFleetJob(c, 'fj_1')).toMatchObject({ status: 'done', pause: null, finishedAt: 10 });
        expect((await store.listFleetJobs(c)).map((j) => j.jobId)).toEqual(['fj_2', 'fj_1']);
        expect((await store.listFleetJobs(c, { status: 'running' })).map((j) => j.jobId)).toEqual(['fj_2']);
        expect(await store.listFleetJobs(c, { limit: 1 })).toHaveLength(1);
      });

      it('keeps one ext_json per authorizer', async () => {
        const c = component();
        expect(await store.getFleetExtJson(c, 'wxE')).toBeUndefined();
        await store.setFleetExtJson(c, 'wxE', '{"a":"\'"}', 1);
        await store.setFleetExtJson(c, 'wxE', '{"a":"中文😀"}', 2);
        await store.setFleetExtJson(c, 'wxD', '{}', 3);
        expect(await store.getFleetExtJson(c, 'wxE')).toBe('{"a":"中文😀"}');
        expect(await store.listFleetExtJson(c)).toEqual([
          { appid: 'wxD', extJson: '{}', updatedAt: 3 },
          { appid: 'wxE', extJson: '{"a":"中文😀"}', updatedAt: 2 },
        ]);
        expect(await store.deleteFleetExtJson(c, 'wxE')).toBe(true);
        expect(await store.deleteFleetExtJson(c, 'wxE')).toBe(false);
        expect(await store.getFleetExtJson(component(), 'wxD')).toBeUndefined();
      });
    });
});
}
