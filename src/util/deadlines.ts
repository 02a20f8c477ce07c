/** One pending deadline: `fire` runs once at or after `at` (performance.now() ms) unless cancelled. */
export interface Deadline {
  readonly at: number;
  readonly fire: () => void;
}

/**
 * Many short deadlines on one timer: each push body read registers its deadline here instead of arming a
 * setTimeout of its own. Hand-written (it is small and per push on the hottest path): a timer armed and
 * cleared per request measured about 4 % of a refused push's CPU in bench/push.ts, a Set entry costs a
 * fraction of that. A deadline fires up to `resolutionMs` late, never early; the timer runs only while
 * a deadline is pending and never keeps the process alive.
 */
export class Deadlines {
  private readonly pending = new Set<Deadline>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly resolutionMs: number) {}

  add(ms: number, fire: () => void): Deadline {
    const d: Deadline = { at: performance.now() + ms, fire };
    this.pending.add(d);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.resolutionMs);
      this.timer.unref();
    }
    return d;
  }

  cancel(d: Deadline): void {
    this.pending.delete(d);
  }

  get size(): number {
    return this.pending.size;
  }

  private sweep(): void {
    const now = performance.now();
    for (const d of this.pending) {
      if (d.at > now) continue;
      this.pending.delete(d);
      d.fire();
    }
    if (this.pending.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
