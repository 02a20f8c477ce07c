import type { Clock } from '../util/clock.js';
import { MemoryLockBackend } from './memory.js';
import { PostgresLockBackend } from './postgres.js';
import { RedisLockBackend } from './redis.js';
import type { LockBackend } from './types.js';

/** Redis when configured, else PostgreSQL advisory locks, else in-process (SQLite: one process). */
export function createLockBackend(options: { redisUrl?: string; databaseUrl: string; clock?: Clock }): LockBackend {
  if (options.redisUrl) return RedisLockBackend.fromUrl(options.redisUrl);
  if (/^postgres(ql)?:\/\//.test(options.databaseUrl)) return new PostgresLockBackend(options.databaseUrl);
  return new MemoryLockBackend(options.clock);
}
