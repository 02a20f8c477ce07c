import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { reportOutages } from '../../../src/util/redis-outage.js';

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
