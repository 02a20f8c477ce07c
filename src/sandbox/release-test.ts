import { authorizeAccount } from './authorize.js';
import type { SandboxContext } from './context.js';
import { reject } from './errors.js';
import { FUNC_SETS } from './permissions.js';
import type { MessageReply } from './pusher.js';
import { openidFor } from './state.js';

/**
 * WeChat's full-network-release (全网发布) automated test (spec 7), run the way WeChat runs it against
 * one of its test accounts: authorize the account, push a ticket, send the text case and the event
 * case (official accounts) and the QUERY_AUTH_CODE case (both kinds) to the platform's message URL,
 * and check each answer exactly.
 */
export interface ReleaseTestCase {
  name: 'authorized' | 'ticket' | 'text' | 'event' | 'query_auth_code';
  pass: boolean;
  detail: string;
  /** Real milliseconds the platform took (for the query_auth_code case: until the customer-service message arrived). */
  ms: number;
}

export interface ReleaseTestReport {
  appid: string;
  userName: string;
  kind: 'official' | 'miniprogram';
  group: number;
  pass: boolean;
  cases: ReleaseTestCase[];
}

export interface ReleaseTestOptions {
  /** The event of the event case; default LOCATION. */
  event?: string;
  /** WeChat waits 5 s for a passive reply (spec 7, 9.3). */
  replyDeadlineMs?: number;
  /** How long the customer-service message may take after the empty reply; default 5000 (real ms). */
  customerServiceDeadlineMs?: number;
}

const TEST_TEXT = 'TESTCOMPONENT_MSG_TYPE_TEXT';

export async function runReleaseTest(ctx: SandboxContext, appid: string, options: ReleaseTestOptions = {}): Promise<ReleaseTestReport> {
  const { state } = ctx;
  const account = state.account(appid);
  if (account.testGroup === undefined) reject(40013, `${appid} is not one of WeChat's full-network-release test accounts`);
  const replyDeadline = options.replyDeadlineMs ?? 5000;
  const csDeadline = options.customerServiceDeadlineMs ?? 5000;
  // WeChat's tester: a user of the test account.
  const user = openidFor(appid, 'release-tester');
  const cases: ReleaseTestCase[] = [];
  const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
    const started = performance.now();
    const value = await fn();
    return [value, Math.round(performance.now() - started)];
  };

  // WeChat authorizes its test accounts to the platform itself before the cases run.
  {
    const [result, ms] = await timed(async () => {
      const r = authorizeAccount(ctx, appid, FUNC_SETS[account.type].map((f) => f.id));
      return { event: r.event, delivery: await r.delivery };
    });
    const d = result.delivery;
    const pass = result.event === undefined || (d?.ok === true && d.body === 'success');
    cases.push({ name: 'authorized', pass, ms, detail: result.event === undefined ? 'already authorized with every set' : d?.ok ? `${result.event} push answered ${JSON.stringify(d.body)}` : `${result.event} push failed: ${d?.error ?? 'no delivery'}` });
  }

  {
    const [, ms] = await timed(() => ctx.scheduler.pushTicket());
    const record = [...state.pushLog].reverse().find((p) => p.type === 'component_verify_ticket');
    const pass = record?.status === 200 && record.error === undefined;
    cases.push({ name: 'ticket', pass, ms, detail: pass ? 'answered 200' : `ticket push failed: ${record?.error ?? 'not pushed'}` });
  }

  const expectText = (r: MessageReply, ms: number, content: string): { pass: boolean; detail: string } => {
    if (!r.ok) return { pass: false, detail: `delivery failed: ${r.error}` };
    if (ms > replyDeadline) return { pass: false, detail: `answered after ${ms} ms (WeChat waits ${replyDeadline} ms)` };
    if (r.replyError) return { pass: false, detail: r.replyError };
    if (!r.reply) return { pass: false, detail: `no passive reply (answered ${JSON.stringify(r.body)})` };
    const want = { ToUserName: user, FromUserName: account.userName, MsgType: 'text', Content: content };
    for (const [k, v] of Object.entries(want)) {
      if (r.reply[k] !== v) return { pass: false, detail: `reply ${k} is ${JSON.stringify(r.reply[k])}, expected ${JSON.stringify(v)}` };
    }
    if (typeof r.reply.CreateTime !== 'string' || !/^\d+$/.test(r.reply.CreateTime)) return { pass: false, detail: 'reply CreateTime is not a number' };
    return { pass: true, detail: `encrypted text reply ${JSON.stringify(content)}` };
  };

  if (account.type === 'official') {
    const [text, ms] = await timed(() => ctx.pusher.sendMessage(appid, { FromUserName: user, MsgType: 'text', Content: TEST_TEXT }));
    cases.push({ name: 'text', ms, ...expectText(text, ms, `${TEST_TEXT}_callback`) });
    const event = options.event ?? 'LOCATION';
    const extra: Record<string, string> = event === 'LOCATION' ? { Latitude: '23.137466', Longitude: '113.352425', Precision: '119.385040' } : {};
    const [ev, evMs] = await timed(() => ctx.pusher.sendMessage(appid, { FromUserName: user, MsgType: 'event', Event: event, ...extra }));
    cases.push({ name: 'event', ms: evMs, ...expectText(ev, evMs, `${event}from_callback`) });
  }

  {
    const code = state.mintAuthCode(appid);
    const expected = `${code}_from_api`;
    const sentBefore = state.sentMessages.length;
    const started = performance.now();
    const r = await ctx.pusher.sendMessage(appid, { FromUserName: user, MsgType: 'text', Content: `QUERY_AUTH_CODE:${code}` });
    const replyMs = Math.round(performance.now() - started);
    let failure: string | undefined;
    if (!r.ok) failure = `delivery failed: ${r.error}`;
    else if (replyMs > replyDeadline) failure = `answered after ${replyMs} ms (WeChat waits ${replyDeadline} ms)`;
    else if (r.body !== '' && r.body !== 'success') failure = `expected an empty reply or "success", got ${r.reply ? `a passive reply ${JSON.stringify(r.reply.Content ?? r.reply.MsgType)}` : JSON.stringify(r.body)}`;
    let ms = replyMs;
    if (failure === undefined) {
      const deadline = performance.now() + csDeadline;
      let sent;
      for (;;) {
        sent = state.sentMessages.slice(sentBefore).find((m) => m.appid === appid && m.touser === user);
        if (sent || performance.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      ms = Math.round(performance.now() - started);
      const content = (sent?.body.text as { content?: unknown } | undefined)?.content;
      if (!sent) failure = `no customer-service message to the tester within ${csDeadline} ms of the reply`;
      else if (sent.msgtype !== 'text' || content !== expected) failure = `customer-service message was ${sent.msgtype} ${JSON.stringify(content)}, expected text ${JSON.stringify(expected)}`;
      else if (state.authCodes.get(code)?.used !== true) failure = 'the QUERY_AUTH_CODE was never exchanged with api_query_auth';
    }
    cases.push({ name: 'query_auth_code', pass: failure === undefined, ms, detail: failure ?? `empty reply, api_query_auth, then custom/send ${JSON.stringify(expected)}` });
  }

  return { appid, userName: account.userName, kind: account.type, group: account.testGroup, pass: cases.every((c) => c.pass), cases };
}
