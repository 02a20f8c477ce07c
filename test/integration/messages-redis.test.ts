import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { signPush } from '../../src/crypto/reply.js';
import { RedisMessageDedupe } from '../../src/messages/dedupe.js';
import { reply } from '../../src/messages/reply.js';
import { buildApp, type WxOpenApp } from '../../src/server/app.js';
import { createStore } from '../../src/store/create-store.js';
import type { Store } from '../../src/store/types.js';
import { createLogger } from '../../src/util/logger.js';
import { buildXml } from '../../src/xml/build.js';
import { noteSkipped, REDIS_URL } from '../helpers/services.js';

const MERCHANT = 'wx3a7f2c9e1b4d6f80';

const redisUrl = REDIS_URL;
if (redisUrl) {
  describe('retries reach handlers once across two instances sharing Redis', () => {
    const prefix = `wxopen-test:${randomBytes(5).toString('hex')}:msg:`;
    const config = loadConfig({ LOG_LEVEL: 'silent', WXOPEN_DATABASE_URL: 'sqlite::memory:' });
    const instances: Array<WxOpenApp & { store: Store }> = [];
    const calls: string[] = [];
    let redis: Redis;

    beforeAll(async () => {
      redis = new Redis(redisUrl);
      for (const name of ['a', 'b']) {
        // Each instance its own store: only Redis is shared, so only Redis can dedupe across them.
        const store = await createStore('sqlite::memory:');
        const built = await buildApp({ config, store, logger: createLogger({ level: 'silent' }), dedupe: RedisMessageDedupe.fromUrl(redisUrl, prefix) });
        built.context.router.on('message.text', (m) => {
          calls.push(`${name}:${m.msgId}`);
          return reply.text(`from ${name}`);
        });
        instances.push({ ...built, store });
      }
    });
    afterAll(async () => {
      for (const i of instances) {
        await i.app.close();
        await i.context.dedupe.close();
        await i.store.close();
      }
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    });

    const push = (instance: WxOpenApp, msgId: string) => {
      const signed = signPush(
        buildXml({ ToUserName: 'gh_5e2a9c7b1d3f', FromUserName: 'oRetry', CreateTime: Math.floor(Date.now() / 1000), MsgType: 'text', Content: 'hi', MsgId: msgId }),
        { token: config.token, encodingAesKey: config.encodingAesKeys[0]!, appid: config.componentAppid, toUserName: 'gh_5e2a9c7b1d3f' },
      );
      return instance.app.inject({ method: 'POST', url: `/wechat/authorizer/${MERCHANT}?${new URLSearchParams(signed.query)}`, payload: signed.body, headers: { 'content-type': 'text/xml' } });
    };

    it('WeChat retrying on the other instance does not run the handlers again', async () => {
      const [a, b] = [instances[0]!, instances[1]!];
      const msgId = String(Date.now());
      const first = await push(a, msgId);
      expect(first.statusCode).toBe(200);
      expect(first.body).toContain('<Encrypt>');
      const retryB = await push(b, msgId);
      const retryA = await push(a, msgId);
      expect([retryB.body, retryA.body]).toEqual(['success', 'success']);
      expect(calls).toEqual([`a:${msgId}`]);
      // The claim is a Redis key with a TTL (SET NX PX), shared by both instances.
      expect(await redis.pttl(`${prefix}${MERCHANT}:m:${msgId}`)).toBeGreaterThan(9 * 60_000);
    });

    it('concurrent deliveries of one message to both instances run the handlers once', async () => {
      const [a, b] = [instances[0]!, instances[1]!];
      calls.length = 0;
      const msgId = String(Date.now() + 1);
      const answers = await Promise.all([push(a, msgId), push(b, msgId), push(a, msgId), push(b, msgId)]);
      expect(answers.every((r) => r.statusCode === 200)).toBe(true);
      expect(answers.filter((r) => r.body.includes('<Encrypt>'))).toHaveLength(1);
      expect(calls).toHaveLength(1);
    });

    it('a message whose store write failed is released, so the retry is processed', async () => {
      const a = instances[0]!;
      calls.length = 0;
      const msgId = String(Date.now() + 2);
      const original = a.store.recordMessage.bind(a.store);
      a.store.recordMessage = async () => {
        throw new Error('disk full');
      };
      const failed = await push(a, msgId);
      expect(failed.statusCode).toBe(503);
      a.store.recordMessage = original;
      const retry = await push(a, msgId);
      expect(retry.body).toContain('<Encrypt>');
      expect(calls).toEqual([`a:${msgId}`]);
    });
  });
} else {
  noteSkipped('shared message dedupe (Redis)', 'WXOPEN_TEST_REDIS_URL');
}
