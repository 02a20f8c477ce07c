import type { Redis } from 'ioredis';
import { redisClient } from '../util/redis-outage.js';
import { WxOpenError } from '../errors.js';
import type { Clock } from '../util/clock.js';

/** `tokens` calls per `perMs`, with a burst of `tokens`. */
export interface RateRule {
  tokens: number;
  perMs: number;
}

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses `WXOPEN_API_RATE_LIMITS`: `api=N/unit` pairs, comma-separated, where api is a WeChat path
 * without the leading slash (`wxa/submit_audit`) or `*` for every other API, and unit is s, m, h or d.
 * Throws a one-line TypeError naming the bad item.
 */
export function parseRateLimits(spec: string): Map<string, RateRule> {
  const rules = new Map<string, RateRule>();
  for (const item of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([*]|[a-z0-9_/.-]+)=(\d+(?:\.\d+)?)\/([smhd])$/i.exec(item);
    if (!m || Number(m[2]) <= 0) throw new TypeError(`"${item}" is not api=N/unit (e.g. wxa/submit_audit=1/s, *=50/s; unit s, m, h or d)`);
    rules.set(m[1]!.replace(/^\//, ''), { tokens: Number(m[2]), perMs: UNITS[m[3]!.toLowerCase()]! });
  }
  return rules;
}

/** Takes one token from the bucket `key`: 0 when granted, else how many ms until one is available. */
export interface RateLimitBackend {
  readonly kind: string;
  take(key: string, rule: RateRule, now: number): Promise<number>;
  close(): Promise<void>;
}

/** One process: a token bucket per key in a Map. */
export class MemoryRateLimitBackend implements RateLimitBackend {
  readonly kind = 'memory';
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  async take(key: string, rule: RateRule, now: number): Promise<number> {
    const rate = rule.tokens / rule.perMs;
    const b = this.buckets.get(key) ?? { tokens: rule.tokens, at: now };
    // Stryker disable next-line EqualityOperator: at now === b.at the refill adds (now - b.at) * rate = 0 tokens
    if (now > b.at) {
      b.tokens = Math.min(rule.tokens, b.tokens + (now - b.at) * rate);
      b.at = now;
    }
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / rate);
  }

  async close(): Promise<void> {}
}

// The same token bucket as MemoryRateLimitBackend, atomically in Redis. Hand-written (15 lines) rather
// than a library such as rate-limiter-flexible because the time comes from the caller's injected clock
// (so tests and the sandbox's simulated time work) and both backends must share one semantics.
const TAKE = `
local cap = tonumber(ARGV[1]); local per = tonumber(ARGV[2]); local now = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(b[1]); local at = tonumber(b[2])
if tokens == nil then tokens = cap; at = now end
local rate = cap / per
if now > at then tokens = math.min(cap, tokens + (now - at) * rate); at = now end
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate) end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil(per) + 1000)
return wait`;

/** Shared by every instance through Redis (WXOPEN_REDIS_URL). */
export class RedisRateLimitBackend implements RateLimitBackend {
  readonly kind = 'redis';
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'wxopen:rate:',
    private readonly ownsConnection = false,
  ) {}

  static fromUrl(url: string, prefix?: string): RedisRateLimitBackend {
    const { redis } = redisClient(url, { maxRetriesPerRequest: 2 });
    return new RedisRateLimitBackend(redis, prefix, true);
  }

  async take(key: string, rule: RateRule, now: number): Promise<number> {
    return Number(await this.redis.eval(TAKE, 1, this.prefix + key, rule.tokens, rule.perMs, now));
  }

  async close(): Promise<void> {
    if (this.ownsConnection) this.redis.disconnect();
  }
}

export class RateLimitedError extends WxOpenError {
  readonly code = 'WXO_ERR_RATE_LIMITED';
  override readonly statusCode = 429;
  constructor(
    readonly api: string,
    readonly waitMs: number,
  ) {
    super(`local rate limit for ${api} reached (WXOPEN_API_RATE_LIMITS); next call possible in ${waitMs} ms`);
  }
}

export interface RateLimiterOptions {
  rules: Map<string, RateRule>;
  backend: RateLimitBackend;
  clock: Clock;
  /** Wait up to this long for a token before refusing with RateLimitedError; default 10 s. */
  maxWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * A token bucket per (API, account): WeChat's daily quotas are per account and API, so one merchant's
 * job cannot use up another's budget, and a runaway loop is slowed to the configured rate.
 */
export class RateLimiter {
  constructor(private readonly o: RateLimiterOptions) {}

  get backendKind(): string {
    return this.o.backend.kind;
  }

  ruleFor(api: string): RateRule | undefined {
    return this.o.rules.get(api) ?? this.o.rules.get('*');
  }

  /** Resolves when the call may go; throws RateLimitedError when the wait would exceed maxWaitMs. */
  async acquire(api: string, subject: string): Promise<void> {
    const rule = this.ruleFor(api);
    if (!rule) return;
    const maxWait = this.o.maxWaitMs ?? 10_000;
    const sleep = this.o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let waited = 0;
    for (;;) {
      const wait = await this.o.backend.take(`${api}|${subject}`, rule, this.o.clock.now());
      if (wait === 0) return;
      if (waited + wait > maxWait) throw new RateLimitedError(api, wait);
      await sleep(wait);
      waited += wait;
    }
  }

  close(): Promise<void> {
    return this.o.backend.close();
  }
}
