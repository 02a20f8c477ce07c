import type { Clock } from '../util/clock.js';

/**
 * Every upstream call the sandbox received, by endpoint path and by the account it was about, and when
 * (sandbox clock): benchmarks and tests read rates and spacing from here, the independent side.
 */
export class Counters {
  private readonly byPath = new Map<string, number>();
  private readonly byPathAppid = new Map<string, number>();
  private readonly at = new Map<string, number[]>();

  constructor(private readonly clock?: Clock) {}

  record(path: string, appid: string | undefined): void {
    this.byPath.set(path, (this.byPath.get(path) ?? 0) + 1);
    if (this.clock) {
      const list = this.at.get(path) ?? [];
      list.push(this.clock.now());
      this.at.set(path, list);
    }
    if (appid !== undefined) {
      const k = `${path}|${appid}`;
      this.byPathAppid.set(k, (this.byPathAppid.get(k) ?? 0) + 1);
    }
  }

  /** Calls to `path`, all accounts together or only those about `appid`. */
  get(path: string, appid?: string): number {
    return appid === undefined ? (this.byPath.get(path) ?? 0) : (this.byPathAppid.get(`${path}|${appid}`) ?? 0);
  }

  /** Sandbox-clock times (ms) of the calls to `path`, oldest first. */
  times(path: string): readonly number[] {
    return this.at.get(path) ?? [];
  }

  all(): { byPath: Record<string, number>; byPathAndAppid: Record<string, Record<string, number>> } {
    const byPathAndAppid: Record<string, Record<string, number>> = {};
    for (const [k, n] of this.byPathAppid) {
      const i = k.lastIndexOf('|');
      (byPathAndAppid[k.slice(0, i)] ??= {})[k.slice(i + 1)] = n;
    }
    return { byPath: Object.fromEntries(this.byPath), byPathAndAppid };
  }

  reset(): void {
    this.byPath.clear();
    this.byPathAppid.clear();
    this.at.clear();
  }
}
