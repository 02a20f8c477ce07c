import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isTransient } from '../../../src/credentials/exchanges.js';
import { jitter } from '../../../src/credentials/refresher.js';
import { UpstreamError, WeChatApiError } from '../../../src/errors.js';

describe('credentials: pure parts (mutation)', () => {
  it('jitter is a fraction in [0, 1) that every instance computes alike for a key (first 32 bits of SHA-1)', () => {
    const keys = Array.from({ length: 200 }, (_, i) => `wx${i}:${1_700_000_000_000 + i}`);
    const values = keys.map(jitter);
    for (const v of values) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
    }
    expect(jitter('wxA:1')).toBe(jitter('wxA:1'));
    expect(jitter('wxA:1')).toBe(createHash('sha1').update('wxA:1').digest().readUInt32BE(0) / 4_294_967_296);
    // Spread: 200 keys land in every tenth of the window.
    expect(new Set(values.map((v) => Math.floor(v * 10))).size).toBe(10);
  });

  it('isTransient: -1, quota and token errcodes and any non-WeChat failure are retried; other errcodes are final', () => {
    for (const code of [-1, 45009, 45011, 40001, 42001]) expect(isTransient(new WeChatApiError(code, '', '/x')), String(code)).toBe(true);
    for (const code of [40029, 61009, 61010, 40013, 61003]) expect(isTransient(new WeChatApiError(code, '', '/x')), String(code)).toBe(false);
    expect(isTransient(new UpstreamError('HTTP 502'))).toBe(true);
    expect(isTransient(new Error('SQLITE_BUSY'))).toBe(true);
  });
});
