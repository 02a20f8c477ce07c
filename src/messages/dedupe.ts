import type { Redis } from 'ioredis';
import { redisClient } from '../util/redis-outage.js';
import type { Clock } from '../util/clock.js';
import { RecentKeys } from '../util/recent-keys.js';

/**
 * WeChat retries a message it got no answer for (three times, 5 s apart: spec 9.3). The first delivery
 * claims the message's key; retries find it claimed and are answered `success` without reaching the
 * handlers again. The message log's unique key is the durable backstop (a restart forgets claims).
 */
export interface MessageDedupe {
  readonly kind: 'memory' | 'redis';
  /** True the first time `key` is claimed (within the TTL). Sync for memory, so the hot path stays sync. */
  claim(key: string): boolean | Promise<boolean>;
  /** Gives a claim back (the message could not be stored, so a retry must be processed). */
  release(key: string): void | Promise<void>;
  close(): Promise<void>;
}

export const DEDUPE_TTL_MS = 10 * 60 * 1000;

/** In one process: the preallocated fingerprint table (util/recent-keys.ts). */
export class MemoryMessageDedupe implements MessageDedupe {
  readonly kind = 'memory';
  private readonly recent: RecentKeys;
  // RecentKeys cannot forget one key; the few released ones are remembered apart.
  private readonly released = new Set<string>();

  constructor(clock: Clock, ttlMs = DEDUPE_TTL_MS, maxKeys = 100_000) {
    this.recent = new RecentKeys(ttlMs, maxKeys, clock);
  }

  claim(key: string): boolean {
    if (this.recent.add(key)) return true;
    return this.released.delete(key);
  }

  release(key: string): void {
    this.released.add(key);
  }

  async close(): Promise<void> {}
}

/**
 * Shared by every instance: `SET key 1 NX PX ttl`. When Redis fails the claim is granted (the message
 * log's unique key still stores it once) and `onError` is told, so an outage costs at worst a handler
 * run twice, never a lost message.
 */
export class RedisMessageDedupe implements MessageDedupe {
  readonly kind = 'redis';
  /**
   * Rejected by close(). ioredis never settles a command it queued while reconnecting once disconnect() has
   * stopped the reconnecting, so on a connection we own every command races this: a claim waiting at shutdown
   * with Redis down is granted (as in any outage) instead of holding its request until the process exits.
   */
  private readonly closed: Promise<never>;
  private markClosed: (err: Error) => void = () => {};

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs = DEDUPE_TTL_MS,
    private readonly ownsConnection = false,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.closed = new Promise<never>((_, reject) => {
      this.markClosed = reject;
    });
    this.closed.catch(() => {});
  }

  static fromUrl(url: string, prefix: string, onError?: (err: unknown) => void): RedisMessageDedupe {
    const { redis, failed } = redisClient(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false }, onError);
    return new RedisMessageDedupe(redis, prefix, DEDUPE_TTL_MS, true, failed);
  }

  async claim(key: string): Promise<boolean> {
    try {
      return (await this.settled(this.redis.set(this.prefix + key, '1', 'PX', this.ttlMs, 'NX'))) === 'OK';
    } catch (err) {
      this.onError(err);
      return true;
    }
  }

  async release(key: string): Promise<void> {
    await this.settled(this.redis.del(this.prefix + key)).catch((err: unknown) => this.onError(err));
  }

  async close(): Promise<void> {
    if (!this.ownsConnection) return;
    this.markClosed(new Error('message dedupe closed'));
    this.redis.disconnect();
  }

  private settled<T>(command: Promise<T>): Promise<T> {
    return this.ownsConnection ? Promise.race([command, this.closed]) : command;
  }
}

/** The key of one message: MsgId, or for events FromUserName + CreateTime (+ Event), per spec 9.3. */
export function dedupeKey(appid: string, fields: { MsgId?: unknown; FromUserName?: unknown; CreateTime?: unknown; Event?: unknown }): string {
  return typeof fields.MsgId === 'string'
    ? `${appid}:m:${fields.MsgId}`
    : `${appid}:e:${String(fields.FromUserName)}:${String(fields.CreateTime)}:${String(fields.Event)}`;
}
