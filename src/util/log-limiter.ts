import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

export interface LogLimiterOptions {
  /** Lines written per key per interval; the rest are counted. */
  perInterval: number;
  intervalMs: number;
  clock: Clock;
  logger: Logger;
  /** Keys tracked at once; refusal reasons are a small closed set, this only guards against misuse. */
  maxKeys?: number;
  /** The summary line's message. */
  summary?: string;
}

interface Window {
  started: number;
  written: number;
  suppressed: number;
}

/**
 * Rate-limits warn lines by key (a refusal reason): at most `perInterval` lines per key per interval,
 * then one summary line with the count suppressed. A client sending junk otherwise writes a line per
 * request (90 MB of logs in 15 s was seen). The summary is written when the key's next line comes after
 * the interval, by `flush()` (a timer calls it), and on close, so a flood that stops is still counted.
 */
export class LogLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly maxKeys: number;

  constructor(private readonly o: LogLimiterOptions) {
    this.maxKeys = o.maxKeys ?? 256;
  }

  /**
   * Writes `fields`/`message` at warn unless `key` has used its lines this interval. `fields` may be a
   * function: it is then called only for a line that is written (a flood's suppressed lines build nothing).
   */
  warn(key: string, fields: Record<string, unknown> | (() => Record<string, unknown>), message: string): void {
    const now = this.o.clock.now();
    let w = this.windows.get(key);
    if (w !== undefined && now - w.started >= this.o.intervalMs) {
      this.summarize(key, w, now);
      w = undefined;
    }
    if (w === undefined) {
      if (this.windows.size >= this.maxKeys) this.flush(true);
      w = { started: now, written: 0, suppressed: 0 };
      this.windows.set(key, w);
    }
    if (w.written < this.o.perInterval) {
      w.written++;
      this.o.logger.warn(typeof fields === 'function' ? fields() : fields, message);
    } else {
      w.suppressed++;
    }
  }

  /** Writes the summaries of finished intervals (all of them when `all`), and forgets those keys. */
  flush(all = false): void {
    const now = this.o.clock.now();
    for (const [key, w] of this.windows) {
      if (all || now - w.started >= this.o.intervalMs) this.summarize(key, w, now);
    }
  }

  private summarize(key: string, w: Window, now: number): void {
    this.windows.delete(key);
    if (w.suppressed === 0) return;
    this.o.logger.warn({ reason: key, suppressed: w.suppressed, seconds: Math.round((now - w.started) / 1000) }, this.o.summary ?? 'refusals not logged (rate limit)');
  }
}
