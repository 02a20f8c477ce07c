import type { WeChatHttp } from '../api/http.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { TokenCache } from '../lock/token-cache.js';
import type { LockBackend } from '../lock/types.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from '../store/types.js';
import { ConfigError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { PlatformEvents } from './events.js';

export interface CredentialOptions {
  /** Refresh this long before expiry (default 10 min). */
  refreshAheadMs: number;
  /** How long a process trusts its in-memory copy before re-reading the shared store. */
  memoryCacheMs: number;
  lockLeaseMs: number;
  lockMaxWaitMs: number;
  lockPollMs: number;
  /** A ticket older than this is not used (spec: valid 12 h). */
  ticketTtlMs: number;
}

export const DEFAULT_CREDENTIAL_OPTIONS: CredentialOptions = {
  refreshAheadMs: 10 * 60_000,
  memoryCacheMs: 30_000,
  // Short and renewed by the holder: a holder killed mid-refresh frees the lease within 10 s, and
  // waiters (who wait at least two leases) outlast it instead of failing.
  lockLeaseMs: 10_000,
  lockMaxWaitMs: 60_000,
  lockPollMs: 50,
  ticketTtlMs: 12 * 3600_000,
};

// WeChat's tokens live 7200 s: refreshing an hour or more ahead would refresh on nearly every call.
const MAX_REFRESH_AHEAD_MS = 3_600_000;

/**
 * The defaults with the caller's overrides, each checked: a negative `refreshAheadMs` would serve tokens past
 * their expiry, one of an hour or more would refresh on nearly every call, and a zero lease or poll would spin.
 */
export function credentialOptions(overrides: Partial<CredentialOptions> = {}): CredentialOptions {
  const o = { ...DEFAULT_CREDENTIAL_OPTIONS, ...overrides };
  const problems: Array<{ variable: string; problem: string }> = [];
  const check = (name: keyof CredentialOptions, min: number, inclusive: boolean, max = Number.POSITIVE_INFINITY): void => {
    const v = o[name];
    // NaN fails every comparison and ±Infinity one of the bounds; typeof keeps out '5', which they would coerce.
    const ok = typeof v === 'number' && (inclusive ? v >= min : v > min) && v < max;
    if (!ok) problems.push({ variable: `credentials.${name}`, problem: `must be a finite number of ms ${inclusive ? '≥' : '>'} ${min}${max < Infinity ? ` and < ${max}` : ''} (got ${String(v)})` });
  };
  check('refreshAheadMs', 0, true, MAX_REFRESH_AHEAD_MS);
  check('memoryCacheMs', 0, true);
  check('lockLeaseMs', 0, false);
  check('lockMaxWaitMs', 0, true);
  check('lockPollMs', 0, false);
  check('ticketTtlMs', 0, false);
  const [first, ...more] = problems;
  if (first) throw new ConfigError(first.variable, first.problem, more);
  return o;
}

/** What the token managers share. */
export interface CredentialContext {
  componentAppid: string;
  componentSecret: string;
  store: Store;
  http: WeChatHttp;
  lock: LockBackend;
  /** Short hash of the API base URL: cache keys carry it so environments never share tokens. */
  apiNamespace: string;
  /** Optional shared cache (Redis) in front of the store. */
  cache?: TokenCache;
  box: SecretBox;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  events: PlatformEvents;
  options: CredentialOptions;
}
