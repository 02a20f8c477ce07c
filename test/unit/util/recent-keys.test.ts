import { describe, expect, it } from 'vitest';
import { RecentKeys } from '../../../src/util/recent-keys.js';
import { ManualClock } from '../../helpers/platform.js';

describe('RecentKeys', () => {
  it('reports a repeat within the TTL and forgets keys after two TTLs', () => {
    const clock = new ManualClock(0);
    const keys = new RecentKeys(1000, 100, clock);
    expect(keys.add('a')).toBe(true);
    expect(keys.add('a')).toBe(false);
    clock.advance(999);
    expect(keys.add('a')).toBe(false);
    clock.advance(2);
    // Rotated once: 'a' is in the previous generation, still remembered.
    expect(keys.add('a')).toBe(false);
    clock.advance(2001);
    expect(keys.add('a')).toBe(true);
  });

  it('stays bounded and fast past its size limit', () => {
    const clock = new ManualClock(0);
    const keys = new RecentKeys(60_000, 1000, clock);
    for (let i = 0; i < 10_000; i++) expect(keys.add(`k${i}`)).toBe(true);
    // The newest half is still remembered.
    expect(keys.add('k9999')).toBe(false);
    expect(keys.add('k0')).toBe(true);
    expect(keys.size).toBeLessThanOrEqual(1000);
  });

  it('tells apart many keys that differ in a few characters (fingerprints do not collide)', () => {
    const keys = new RecentKeys(60_000, 400_000, new ManualClock(0));
    const appids = ['wx1234567890abcdef', 'wx1234567890abcdeg', 'wxf8b4f85f3a794e77'];
    let fresh = 0;
    for (const appid of appids) {
      for (let i = 0; i < 60_000; i++) if (keys.add(`${appid}:m:${23_000_000_000_000_000n + BigInt(i)}`)) fresh++;
    }
    expect(fresh).toBe(180_000);
    // Every one of them is still remembered, and the empty key is a key like any other.
    for (const appid of appids) expect(keys.add(`${appid}:m:${23_000_000_000_000_000n + 59_999n}`)).toBe(false);
    expect(keys.add('')).toBe(true);
    expect(keys.add('')).toBe(false);
  });
});
