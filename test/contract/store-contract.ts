import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizationInput, PushRecord, Store } from '../../src/store/types.js';

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
        expect(await store.countAuthorizers(c)).toEqual({ authorized: 4, needs_reauthorization: 1, unauthorized: 0 });
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
    });
  });
}
