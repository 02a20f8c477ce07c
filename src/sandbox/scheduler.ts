import { epochSeconds } from './clock.js';
import { nextAuditDue, progressAudits } from './code-state.js';
import type { Pusher } from './pusher.js';
import type { SandboxState } from './state.js';

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Drives everything that happens "later" on the sandbox clock: the ticket push every 10 minutes and
 * audit results. It runs on a real timer, on every API request and right after `clock.advance()`, so
 * a test can jump ahead instead of waiting.
 */
export class Scheduler {
  private nextTicketAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly state: SandboxState,
    private readonly pusher: Pusher,
  ) {
    this.unsubscribe = state.clock.onAdvance(() => this.tick());
  }

  /** The first ticket push (as when a platform goes live) and the schedule after it. */
  start(): void {
    this.stopped = false;
    if (this.state.platform) void this.pushTicket();
    else this.tick();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    if (this.timer) clearTimeout(this.timer);
  }

  /** Mints a ticket, pushes it and restarts the interval; resolves with the ticket once delivered or failed. */
  async pushTicket(): Promise<string> {
    const { state } = this;
    const ticket = state.mintTicket();
    this.scheduleNextTicket();
    const delivery = this.pusher.pushComponent({
      AppId: state.component.appid,
      CreateTime: epochSeconds(state.clock),
      InfoType: 'component_verify_ticket',
      ComponentVerifyTicket: ticket,
    });
    this.arm();
    await delivery;
    return ticket;
  }

  /** Does whatever is due now. */
  tick(): void {
    if (this.stopped) return;
    const now = this.state.clock.now();
    if (this.nextTicketAt !== undefined && now >= this.nextTicketAt && this.state.platform) {
      void this.pushTicket();
    }
    for (const event of progressAudits(this.state)) void this.pusher.pushEvent(event.appid, event.fields);
    this.arm();
  }

  private scheduleNextTicket(): void {
    const interval = this.state.settings.ticketIntervalMs;
    this.nextTicketAt = interval > 0 ? this.state.clock.now() + interval : undefined;
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    if (this.nextTicketAt === undefined && this.state.settings.ticketIntervalMs > 0) this.scheduleNextTicket();
    const dues = [this.nextTicketAt, nextAuditDue(this.state)].filter((d): d is number => d !== undefined);
    if (dues.length === 0) return;
    const delay = Math.min(Math.max(Math.min(...dues) - this.state.clock.now(), 0), MAX_TIMER_MS);
    this.timer = setTimeout(() => this.tick(), delay);
    this.timer.unref();
  }
}
