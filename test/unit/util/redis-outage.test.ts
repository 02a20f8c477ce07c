import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisClient, reportOutages } from '../../../src/util/redis-outage.js';
import { freePorts } from '../../helpers/ports.js';
import { until } from '../../helpers/wait.js';

describe('reportOutages', () => {
  it('reports the first error of each outage; a ready connection ends it; failed commands are reported only while up', () => {
    const redis = new EventEmitter();
    const seen: string[] = [];
    const failed = reportOutages(redis as unknown as Redis, (err) => seen.push((err as Error).message));
    failed(new Error('command while up'));
    redis.emit('error', new Error('refused 1'));
    redis.emit('error', new Error('refused 2'));
    failed(new Error('command while down'));
    redis.emit('ready');
    failed(new Error('command after recovery'));
    redis.emit('error', new Error('refused again'));
    expect(seen).toEqual(['command while up', 'refused 1', 'command after recovery', 'refused again']);
  });

  it('listens for errors even with nothing to report to (ioredis prints unhandled ones with their stack)', () => {
    const redis = new EventEmitter();
    reportOutages(redis as unknown as Redis);
    expect(redis.listenerCount('error')).toBe(1);
    expect(() => redis.emit('error', new Error('refused'))).not.toThrow();
  });
});

describe('redisClient', () => {
  it('connects with the options given, and a Redis that refuses it is one report, however many reconnects', async () => {
    // Nothing listens on the port: each reconnect attempt is refused at once.
    const [port] = (await freePorts(1)) as [number];
    const seen: Array<{ code?: string }> = [];
    const { redis, failed } = redisClient(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false }, (err) => seen.push(err as { code?: string }));
    try {
      expect(redis.options).toMatchObject({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false });
      let attempts = 0;
      redis.on('reconnecting', () => attempts++);
      await until('three reconnect attempts', () => (attempts >= 3 ? true : undefined), { timeoutMs: 10_000 });
      expect(seen.map((e) => e.code)).toEqual(['ECONNREFUSED']);
      // A command failing during the outage adds nothing: the outage is already reported.
      await expect(redis.get('k')).rejects.toThrow();
      failed(new Error('GET failed'));
      expect(seen).toHaveLength(1);
    } finally {
      redis.disconnect();
    }
  });
});
