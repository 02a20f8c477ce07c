import { describe, expect, it } from 'vitest';
import { chinaDay } from '../../src/sandbox/clock.js';
import { clearOfChinaMidnight } from '../helpers/china-day.js';

const HOUR = 3_600_000;
// 2026-12-02 16:00:00 UTC is 2026-12-03 00:00:00 in Beijing.
const MIDNIGHT = Date.UTC(2026, 11, 2, 16);

describe('test worlds start clear of Beijing midnight (quota reset)', () => {
  it('leaves a time with more than the headroom before midnight alone', () => {
    expect(clearOfChinaMidnight(MIDNIGHT - 3 * HOUR - 1)).toBe(MIDNIGHT - 3 * HOUR - 1);
    expect(clearOfChinaMidnight(MIDNIGHT + 1)).toBe(MIDNIGHT + 1);
    expect(clearOfChinaMidnight(MIDNIGHT - 31 * 60_000, 30 * 60_000)).toBe(MIDNIGHT - 31 * 60_000);
  });

  it('moves a time within the headroom one second past midnight, into the next China day', () => {
    for (const before of [1, 60_000, 5 * 60_000, 3 * HOUR]) {
      const moved = clearOfChinaMidnight(MIDNIGHT - before);
      expect(moved).toBe(MIDNIGHT + 1000);
      expect(chinaDay(moved)).toBe(chinaDay(MIDNIGHT - before) + 1);
      expect(chinaDay(moved + 3 * HOUR)).toBe(chinaDay(moved));
    }
  });
});
