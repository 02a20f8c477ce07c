import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { credentialOptions, DEFAULT_CREDENTIAL_OPTIONS } from '../../../src/credentials/context.js';
import { ConfigError } from '../../../src/errors.js';
import { Platform } from '../../../src/platform.js';
import { createStore } from '../../../src/store/create-store.js';

describe('credential options given in code are checked before any token is served', () => {
  it('keeps the defaults and accepts the edges (no refresh ahead, no memory copy)', () => {
    expect(credentialOptions()).toEqual(DEFAULT_CREDENTIAL_OPTIONS);
    expect(credentialOptions({ refreshAheadMs: 0, memoryCacheMs: 0, lockMaxWaitMs: 0 })).toMatchObject({ refreshAheadMs: 0, memoryCacheMs: 0, lockMaxWaitMs: 0 });
    expect(credentialOptions({ refreshAheadMs: 3_599_999 }).refreshAheadMs).toBe(3_599_999);
  });

  it('refuses each bad value by name, all of them in one error', () => {
    const err = (() => {
      try {
        credentialOptions({ refreshAheadMs: -1, memoryCacheMs: Number.NaN, lockLeaseMs: 0, lockPollMs: 0, ticketTtlMs: 0, lockMaxWaitMs: -1 });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.code).toBe('WXO_ERR_CONFIG');
    expect(e.issues.map((i) => i.variable)).toEqual([
      'credentials.refreshAheadMs',
      'credentials.memoryCacheMs',
      'credentials.lockLeaseMs',
      'credentials.lockMaxWaitMs',
      'credentials.lockPollMs',
      'credentials.ticketTtlMs',
    ]);
    expect(e.message).toContain('credentials.refreshAheadMs: must be a finite number of ms ≥ 0 and < 3600000 (got -1)');
    expect(e.issues[2]).toEqual({ variable: 'credentials.lockLeaseMs', problem: 'must be a finite number of ms > 0 (got 0)' });
    expect(e.issues[1]!.problem).toBe('must be a finite number of ms ≥ 0 (got NaN)');
    // Infinity passes no upper bound, and a string is not a number even where JS would coerce it.
    expect(() => credentialOptions({ ticketTtlMs: Number.POSITIVE_INFINITY })).toThrow(/ticketTtlMs: must be a finite number of ms > 0 \(got Infinity\)$/);
    expect(() => credentialOptions({ memoryCacheMs: Number.NEGATIVE_INFINITY })).toThrow(/memoryCacheMs: .*\(got -Infinity\)$/);
    expect(() => credentialOptions({ refreshAheadMs: '5' as unknown as number })).toThrow(/refreshAheadMs: .*\(got 5\)$/);
    // An hour or more ahead: every call would refresh a 7200 s token.
    expect(() => credentialOptions({ refreshAheadMs: 3_600_000 })).toThrow(/refreshAheadMs: .*< 3600000 \(got 3600000\)/);
  });

  it('a Platform built with a negative refreshAheadMs fails at construction, with one line naming it', async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent', WXOPEN_DATABASE_URL: 'sqlite::memory:' });
    const store = await createStore(config.databaseUrl);
    try {
      expect(() => new Platform({ config, store, credentials: { refreshAheadMs: -60_000 } })).toThrow(ConfigError);
      expect(() => new Platform({ config, store, credentials: { refreshAheadMs: -60_000 } })).toThrow(/^\[wxopen\] credentials\.refreshAheadMs: must be a finite number of ms ≥ 0 and < 3600000 \(got -60000\)$/);
    } finally {
      await store.close();
    }
  });
});
