export type { Lease, LockBackend } from './types.js';
export { MemoryLockBackend } from './memory.js';
export { RedisLockBackend } from './redis.js';
export { PostgresLockBackend } from './postgres.js';
export { createLockBackend } from './create-lock.js';
export { coordinate, LockTimeoutError } from './coordinate.js';
export type { CoordinateOptions } from './coordinate.js';
export { RedisTokenCache } from './token-cache.js';
export type { TokenCache } from './token-cache.js';
