import { systemClock, type Clock } from '../util/clock.js';

/**
 * The sandbox's notion of "now": real time plus an offset that only grows. Expiry, quotas, audits and
 * the ticket schedule all read it, so a test can `advance()` ten minutes instead of waiting them.
 */
export interface SandboxClock extends Clock {
  advance(ms: number): void;
  /** How far ahead of the base clock the sandbox runs, in ms. */
  offset(): number;
  /** Called after every advance; returns an unsubscribe function. */
  onAdvance(listener: () => void): () => void;
}

export function createSandboxClock(base: Clock = systemClock): SandboxClock {
  let offsetMs = 0;
  const listeners = new Set<() => void>();
  return {
    now: () => base.now() + offsetMs,
    offset: () => offsetMs,
    advance(ms: number) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError('[wxopen] sandbox clock can only move forward');
      offsetMs += ms;
      for (const listener of listeners) listener();
    },
    onAdvance(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Unix seconds, as WeChat writes CreateTime and friends. */
export function epochSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}

const CHINA_OFFSET_MS = 8 * 3600 * 1000;

/** Daily quotas reset at midnight Beijing time, so the day index is taken in UTC+8. */
export function chinaDay(ms: number): number {
  return Math.floor((ms + CHINA_OFFSET_MS) / 86_400_000);
}

export function chinaMonth(ms: number): number {
  const d = new Date(ms + CHINA_OFFSET_MS);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}
