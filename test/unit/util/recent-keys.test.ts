import { describe, expect, it } from 'vitest';
import { RecentKeys } from '../../../src/util/lru-ttl.js';
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
    const sizes = (keys as unknown as { current: Set<string>; previous: Set<string> });
    expect(sizes.current.size + sizes.previous.size).toBeLessThanOrEqual(1000);
  });
});
