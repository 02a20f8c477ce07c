import type { Clock } from '../util/clock.js';

/**
 * A failure to inject on an endpoint, as real WeChat (or the network in between) produces them.
 * `times` limits how often it fires; without it the fault stays until cleared. `appid` narrows it to
 * calls about one account.
 */
export type Fault = FaultCommon &
  (
    | { type: 'latency'; ms: number }
    | { type: 'system_busy' }
    | { type: 'http_error'; status?: number }
    | { type: 'drop' }
    | { type: 'rate_limit'; perMinute: number }
    /** Answers HTTP 200 with this JSON instead of the real answer (garbage, missing fields). */
    | { type: 'body'; body: unknown }
    /** 61004 naming the caller's address, as WeChat answers a server whose egress IP is not whitelisted. */
    | { type: 'ip_not_whitelisted' }
  );

interface FaultCommon {
  appid?: string;
  times?: number;
}

export type FaultAction =
  | { type: 'latency'; ms: number }
  | { type: 'system_busy' }
  | { type: 'http_error'; status: number }
  | { type: 'drop' }
  | { type: 'rate_limited' }
  | { type: 'body'; body: unknown }
  | { type: 'ip_not_whitelisted' };

const MINUTE_MS = 60_000;

export class FaultTable {
  private readonly faults = new Map<string, Fault>();
  private readonly windows = new Map<string, { start: number; calls: number }>();

  constructor(private readonly clock: Clock) {}

  /** Replaces the fault on (path, fault.appid); path `*` matches every endpoint. */
  set(path: string, fault: Fault): void {
    validateFault(fault);
    this.faults.set(key(path, fault.appid), { ...fault });
  }

  /** Clears one path's faults, or all of them. */
  clear(path?: string): void {
    if (path === undefined) {
      this.faults.clear();
      this.windows.clear();
      return;
    }
    for (const k of [...this.faults.keys()]) if (k.startsWith(`${path}|`)) this.faults.delete(k);
  }

  list(): Array<{ path: string; fault: Fault }> {
    return [...this.faults].map(([k, fault]) => ({ path: k.slice(0, k.lastIndexOf('|')), fault }));
  }

  /** The faults that fire for this call, in the order they apply (latency first). */
  actionsFor(path: string, appid: string | undefined): FaultAction[] {
    const matching = [...this.faults].filter(([k, f]) => {
      const p = k.slice(0, k.lastIndexOf('|'));
      return (p === path || p === '*') && (f.appid === undefined || f.appid === appid);
    });
    matching.sort(([, a], [, b]) => Number(b.type === 'latency') - Number(a.type === 'latency'));
    const actions: FaultAction[] = [];
    for (const [k, f] of matching) {
      const action = this.fire(k, f, path, appid);
      if (action === undefined) continue;
      if (f.times !== undefined) {
        f.times -= 1;
        if (f.times <= 0) this.faults.delete(k);
      }
      actions.push(action);
      if (action.type !== 'latency') break;
    }
    return actions;
  }

  private fire(k: string, f: Fault, path: string, appid: string | undefined): FaultAction | undefined {
    switch (f.type) {
      case 'latency':
        return { type: 'latency', ms: f.ms };
      case 'system_busy':
        return { type: 'system_busy' };
      case 'http_error':
        return { type: 'http_error', status: f.status ?? 502 };
      case 'drop':
        return { type: 'drop' };
      case 'body':
        return { type: 'body', body: f.body };
      case 'ip_not_whitelisted':
        return { type: 'ip_not_whitelisted' };
      case 'rate_limit': {
        // Counted per endpoint and account over a minute of sandbox time from the window's first call, so
        // only advance() ends a window (minutes aligned to the wall clock would end one mid-test).
        const wk = `${k}|${path}|${appid ?? ''}`;
        const now = this.clock.now();
        const w = this.windows.get(wk);
        const window = w && now < w.start + MINUTE_MS ? w : { start: now, calls: 0 };
        window.calls += 1;
        this.windows.set(wk, window);
        return window.calls > f.perMinute ? { type: 'rate_limited' } : undefined;
      }
    }
  }
}

function key(path: string, appid: string | undefined): string {
  return `${path}|${appid ?? '*'}`;
}

function validateFault(fault: Fault): void {
  const bad = (why: string): never => {
    throw new TypeError(`[wxopen sandbox] invalid fault: ${why}`);
  };
  if (fault.times !== undefined && (!Number.isInteger(fault.times) || fault.times < 1)) bad('times must be a positive integer');
  if (fault.type === 'latency' && !(fault.ms >= 0)) bad('latency needs ms >= 0');
  if (fault.type === 'http_error' && fault.status !== undefined && (fault.status < 500 || fault.status > 599)) bad('status must be 5xx');
  if (fault.type === 'rate_limit' && !(Number.isInteger(fault.perMinute) && fault.perMinute >= 0)) bad('perMinute must be an integer >= 0');
  if (fault.type === 'body' && fault.body === undefined) bad('body needs a JSON body');
  if (!['latency', 'system_busy', 'http_error', 'drop', 'rate_limit', 'body', 'ip_not_whitelisted'].includes(fault.type)) bad(`unknown type ${String(fault.type)}`);
}
