import type { AccountType } from './accounts.js';
import { reject } from './errors.js';

/**
 * The customer-service window (spec 13): a user action opens a window of N messages for a time; sends
 * outside every window get 45015, sends inside an exhausted one 45047. A new action of the same kind
 * resets its window to the maximum (quotas do not add up); an unfollow closes them all.
 */
interface Rule {
  max: number;
  ms: number;
}

const MINUTE = 60_000;
const MESSAGE_RULE: Rule = { max: 5, ms: 48 * 3600_000 };

/** Events that open a short window, by account type (13.1, 13.2). */
const EVENT_RULES: Record<AccountType, Record<string, Rule>> = {
  official: {
    subscribe: { max: 3, ms: MINUTE },
    SCAN: { max: 3, ms: MINUTE },
    CLICK: { max: 3, ms: MINUTE },
    scancode_push: { max: 3, ms: MINUTE },
    scancode_waitmsg: { max: 3, ms: MINUTE },
  },
  miniprogram: {
    user_enter_tempsession: { max: 2, ms: MINUTE },
  },
};

interface Window {
  remaining: number;
  expiresAt: number;
}

export class CustomerServiceWindows {
  /** `appid:openid` → windows by the action kind that opened them. */
  private readonly windows = new Map<string, Map<string, Window>>();

  constructor(
    private readonly now: () => number,
    public enforce: boolean,
  ) {}

  /** Records a user's action (the decrypted fields the user caused WeChat to push). */
  userAction(appid: string, type: AccountType, openid: string, fields: Record<string, string | number | undefined>): void {
    const key = `${appid}:${openid}`;
    if (fields.MsgType === 'event') {
      if (fields.Event === 'unsubscribe' && type === 'official') {
        this.windows.delete(key);
        return;
      }
      const rule = EVENT_RULES[type][String(fields.Event)];
      if (rule) this.open(key, `event:${String(fields.Event)}`, rule);
      return;
    }
    this.open(key, 'message', MESSAGE_RULE);
  }

  /** One send to `openid`: 45015 outside every window, 45047 when the open ones are used up. */
  consume(appid: string, openid: string): void {
    if (!this.enforce) return;
    const now = this.now();
    const open = [...(this.windows.get(`${appid}:${openid}`)?.values() ?? [])].filter((w) => w.expiresAt > now);
    if (open.length === 0) reject(45015);
    const usable = open.filter((w) => w.remaining > 0).sort((a, b) => a.expiresAt - b.expiresAt);
    if (usable.length === 0) reject(45047);
    usable[0]!.remaining--;
  }

  private open(key: string, kind: string, rule: Rule): void {
    let byKind = this.windows.get(key);
    if (!byKind) this.windows.set(key, (byKind = new Map()));
    byKind.set(kind, { remaining: rule.max, expiresAt: this.now() + rule.ms });
  }
}
