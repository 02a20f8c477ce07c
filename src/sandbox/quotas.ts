import type { Clock } from '../util/clock.js';
import { chinaDay, chinaMonth } from './clock.js';
import { reject } from './errors.js';
import { DEFAULT_DAILY_QUOTAS, UNRESETTABLE_QUOTA_PATHS } from './options.js';

const CLEARS_PER_MONTH = 10;

/** Daily API quotas per (account, path), reset at Beijing midnight or by clear_quota (spec 3.8, 9.2). */
export class QuotaBook {
  private readonly used = new Map<string, { day: number; used: number }>();
  private readonly clears = new Map<string, { month: number; used: number }>();
  private readonly limits: Record<string, number>;

  constructor(
    private readonly clock: Clock,
    limits: Record<string, number> = {},
  ) {
    this.limits = { ...DEFAULT_DAILY_QUOTAS, ...limits };
  }

  limit(path: string): number {
    return this.limits[path] ?? this.limits['*'] ?? Number.POSITIVE_INFINITY;
  }

  usage(appid: string, path: string): number {
    const entry = this.used.get(`${appid}|${path}`);
    return entry && entry.day === chinaDay(this.clock.now()) ? entry.used : 0;
  }

  /** Counts one call, or answers 45009 when the day's quota is used up. */
  consume(appid: string, path: string): void {
    const day = chinaDay(this.clock.now());
    const k = `${appid}|${path}`;
    const entry = this.used.get(k);
    const current = entry && entry.day === day ? entry.used : 0;
    if (current >= this.limit(path)) reject(45009);
    this.used.set(k, { day, used: current + 1 });
  }

  /** clear_quota: resets every resettable quota of `appid`; 48006 after 10 resets in a month. */
  clear(appid: string): void {
    const month = chinaMonth(this.clock.now());
    const c = this.clears.get(appid);
    const count = c && c.month === month ? c.used : 0;
    if (count >= CLEARS_PER_MONTH) reject(48006);
    this.clears.set(appid, { month, used: count + 1 });
    for (const k of [...this.used.keys()]) {
      const i = k.indexOf('|');
      if (k.slice(0, i) === appid && !UNRESETTABLE_QUOTA_PATHS.has(k.slice(i + 1))) this.used.delete(k);
    }
  }
}
