import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushRecord, Store } from '../../src/store/types.js';

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
      infoType: 'component_verify_ticket',
      authorizerAppid: null,
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

    it('stores a ticket push and its ticket in one step', async () => {
      const c = component();
      const p = push(c);
      const ticket = { componentAppid: c, ticket: `ticket@@@'; --${n}`, createTime: p.createTime, receivedAt: p.receivedAt };
      expect(await store.recordPush(p, ticket)).toBe('stored');
      expect(await store.getTicket(c)).toEqual(ticket);
      const [listed] = await store.listPushes(c);
      expect(listed).toMatchObject({ ...p, id: expect.any(Number) });
    });

    it('records a duplicate once and leaves the ticket alone', async () => {
      const c = component();
      const p = push(c);
      const first = { componentAppid: c, ticket: 'first', createTime: p.createTime, receivedAt: p.receivedAt };
      expect(await store.recordPush(p, first)).toBe('stored');
      expect(await store.recordPush({ ...p, receivedAt: p.receivedAt + 5 }, { ...first, ticket: 'replayed', createTime: p.createTime + 9 })).toBe(
        'duplicate',
      );
      expect((await store.getTicket(c))?.ticket).toBe('first');
      expect(await store.listPushes(c)).toHaveLength(1);
    });

    it('keeps the newest ticket by CreateTime even when an older push arrives later', async () => {
      const c = component();
      const newer = push(c, { createTime: 2000 });
      const older = push(c, { createTime: 1000 });
      await store.recordPush(newer, { componentAppid: c, ticket: 'newer', createTime: 2000, receivedAt: 1 });
      expect(await store.recordPush(older, { componentAppid: c, ticket: 'older', createTime: 1000, receivedAt: 2 })).toBe('stored');
      expect(await store.getTicket(c)).toMatchObject({ ticket: 'newer', createTime: 2000, receivedAt: 1 });
      await store.recordPush(push(c, { createTime: 3000 }), { componentAppid: c, ticket: 'newest', createTime: 3000, receivedAt: 3 });
      expect(await store.getTicket(c)).toMatchObject({ ticket: 'newest', createTime: 3000 });
    });

    it('keeps components apart', async () => {
      const a = component();
      const b = component();
      const p = push(a);
      await store.recordPush(p, { componentAppid: a, ticket: 'a', createTime: 1, receivedAt: 1 });
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
        Array.from({ length: 20 }, (_, i) => store.recordPush(p, { componentAppid: c, ticket: `t${i}`, createTime: p.createTime, receivedAt: i })),
      );
      expect(outcomes.filter((o) => o === 'stored')).toHaveLength(1);
      expect(await store.listPushes(c)).toHaveLength(1);
    });
  });
}
