import { MemoryLockBackend } from '../../src/lock/memory.js';
import { PostgresLockBackend } from '../../src/lock/postgres.js';
import { RedisLockBackend } from '../../src/lock/redis.js';
import { noteSkipped, PG_URL, REDIS_URL } from '../helpers/services.js';
import { ManualClock } from '../helpers/platform.js';
import { lockContract } from './lock-contract.js';

const clock = new ManualClock();
const shared = new MemoryLockBackend(clock);
// Two handles on one in-process backend stand for two callers in one process.
lockContract('memory', () => Object.assign(Object.create(shared) as MemoryLockBackend, { close: async () => {} }), async (ttl) => clock.advance(ttl + 1));

if (REDIS_URL) {
  const url = REDIS_URL;
  lockContract('Redis', () => RedisLockBackend.fromUrl(url, `wxopen:test:${process.pid}:`), (ttl) => new Promise((r) => setTimeout(r, ttl + 50)));
} else {
  noteSkipped('LockBackend contract: Redis', 'WXOPEN_TEST_REDIS_URL');
}

if (PG_URL) {
  const url = PG_URL;
  lockContract('PostgreSQL advisory', () => new PostgresLockBackend(url), (ttl) => new Promise((r) => setTimeout(r, ttl + 50)));
} else {
  noteSkipped('LockBackend contract: PostgreSQL', 'WXOPEN_TEST_PG_URL');
}
