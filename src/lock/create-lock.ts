import { resolve } from 'node:path';
import type { Clock } from '../util/clock.js';
import { MemoryLockBackend } from './memory.js';
import { PostgresLockBackend } from './postgres.js';
import { RedisLockBackend } from './redis.js';
import { SqliteLeaseLockBackend } from './sqlite-lease.js';
import type { LockBackend } from './types.js';

/**
 * Redis when configured, else PostgreSQL advisory locks, else for a SQLite file a lease file beside it
 * (the server and CLI commands share the file), else in-process (`sqlite::memory:`).
 */
export function createLockBackend(options: { redisUrl?: string; databaseUrl: string; clock?: Clock }): LockBackend {
  if (options.redisUrl) return RedisLockBackend.fromUrl(options.redisUrl);
  if (/^postgres(ql)?:\/\//.test(options.databaseUrl)) return new PostgresLockBackend(options.databaseUrl);
  const file = /^sqlite:([^?]+)/.exec(options.databaseUrl)?.[1];
  if (file !== undefined && file !== ':memory:') return new SqliteLeaseLockBackend(`${resolve(file)}.leases`, options.clock);
  return new MemoryLockBackend(options.clock);
}
