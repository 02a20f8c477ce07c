import { chinaDay } from '../../src/sandbox/clock.js';
import type { Clock } from '../../src/util/clock.js';

const HOUR_MS = 3_600_000;

/**
 * WeChat's daily quotas reset at Beijing midnight (16:00 UTC), and so do the sandbox's. A test file that counts
 * quota across a few simulated minutes fails if it happens to start just before that moment, so sandbox time
 * starts past the next midnight whenever fewer than `headroomMs` remain until it, and is left alone otherwise.
 */
export function clearOfChinaMidnight(ms: number, headroomMs = 3 * HOUR_MS): number {
  if (chinaDay(ms + headroomMs) === chinaDay(ms)) return ms;
  let next = ms + headroomMs;
  // Step back to the first millisecond of the new China day, then one second into it.
  next -= (next + 8 * HOUR_MS) % 86_400_000;
  return next + 1000;
}

/** Real time, moved past Beijing midnight at the start if it is near (see `clearOfChinaMidnight`). */
export function clearOfChinaMidnightClock(headroomMs?: number): Clock {
  const start = Date.now();
  const shift = clearOfChinaMidnight(start, headroomMs) - start;
  return { now: () => Date.now() + shift };
}
