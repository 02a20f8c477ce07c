import type { AccountType } from './accounts.js';
import { authorizeAccount, revokeAccount, type AuthorizationResult } from './authorize.js';
import type { AuditOutcome, RefreshTokenMode, SandboxPlatform } from './options.js';
import type { SandboxContext } from './context.js';
import type { Fault } from './faults.js';
import { FUNC_SETS } from './permissions.js';
import type { Delivery, MessageReply } from './pusher.js';
import { openidFor, type SentMessage } from './state.js';
import type { Draft } from './templates.js';
import { runReleaseTest, type ReleaseTestOptions, type ReleaseTestReport } from './release-test.js';

/**
 * What a test (programmatically) or an operator (through /sandbox/admin) can do to the simulated
 * WeChat: play the user or the merchant admin, move time, break endpoints.
 */
export interface SandboxControls {
  /** Mints and pushes a component_verify_ticket; resolves with it once delivered (or failed). */
  pushTicket(): Promise<string>;
  /** The merchant admin confirms the authorization page (no browser); pushes authorized/updateauthorized. */
  authorize(appid: string, funcIds?: number[]): Promise<Omit<AuthorizationResult, 'delivery'> & { delivery: Delivery | undefined }>;
  /** The merchant admin cancels the authorization: pushes `unauthorized`; later calls get 61003. */
  revoke(appid: string): Promise<Delivery>;
  /** What wx.login gives the mini program: a js_code valid 5 minutes, single use. */
  mintJsCode(appid: string, openid?: string, sessionKey?: string): { code: string; openid: string };
  /** A user message or event to the platform's message URL; returns the platform's (decrypted) answer. */
  sendMessage(appid: string, fields: Record<string, string | number>): Promise<MessageReply>;
  /**
   * WeChat's full-network-release test against one test account (spec 7): authorization, ticket,
   * text and event cases (official accounts), QUERY_AUTH_CODE (both kinds); pass/fail per case.
   */
  runReleaseTest(appid: string, options?: ReleaseTestOptions): Promise<ReleaseTestReport>;
  /** Customer-service messages the platform sent through /cgi-bin/message/custom/send. */
  sentMessages(appid?: string): SentMessage[];
  setPlatform(platform: SandboxPlatform): void;
  setRefreshTokenMode(mode: RefreshTokenMode, graceMs?: number): void;
  /** How audits of `appid` submitted from now on end. */
  setAuditOutcome(appid: string, outcome: AuditOutcome, reason?: string): void;
  /** A developer uploads code from WeChat DevTools: a new draft in the draft box. */
  addDraft(draft?: Partial<Omit<Draft, 'draft_id' | 'create_time'>>): Draft;
  /** Advances the sandbox clock and waits for the pushes that this caused. */
  advance(ms: number): Promise<void>;
  /** Waits for every push in flight. */
  settled(): Promise<void>;
  faults: { set(path: string, fault: Fault): void; clear(path?: string): void; list(): Array<{ path: string; fault: Fault }> };
}

export function createControls(ctx: SandboxContext): SandboxControls {
  const { state } = ctx;
  return {
    pushTicket: () => ctx.scheduler.pushTicket(),
    async authorize(appid, funcIds) {
      const account = state.account(appid);
      const result = authorizeAccount(ctx, appid, funcIds ?? defaultFuncIds(account.type));
      return { ...result, delivery: await result.delivery };
    },
    revoke: (appid) => revokeAccount(ctx, appid),
    mintJsCode(appid, openid, sessionKey) {
      state.account(appid);
      const user = openid ?? openidFor(appid, 'demo-user');
      return { code: state.mintJsCode(appid, user, sessionKey), openid: user };
    },
    sendMessage: (appid, fields) => ctx.pusher.sendMessage(appid, fields),
    runReleaseTest: (appid, options) => runReleaseTest(ctx, appid, options),
    sentMessages: (appid) => state.sentMessages.filter((m) => appid === undefined || m.appid === appid),
    setPlatform(platform) {
      const first = state.platform === undefined;
      state.platform = { ...platform };
      // A platform that just went live gets its first ticket now, as after 全网发布.
      if (first) void ctx.scheduler.pushTicket();
    },
    setRefreshTokenMode(mode, graceMs) {
      state.settings.refreshTokenMode = mode;
      if (graceMs !== undefined) state.settings.refreshTokenGraceMs = graceMs;
    },
    setAuditOutcome(appid, outcome, reason) {
      state.account(appid);
      state.auditOutcomes.set(appid, { outcome, ...(reason !== undefined && { reason }) });
    },
    addDraft: (draft) => state.templates.addDraft(draft),
    async advance(ms) {
      ctx.clock.advance(ms);
      await ctx.pusher.settled();
    },
    settled: () => ctx.pusher.settled(),
    faults: {
      set: (path, fault) => ctx.faults.set(path, fault),
      clear: (path) => ctx.faults.clear(path),
      list: () => ctx.faults.list(),
    },
  };
}

/** Every set the page offers for the account type, as when the admin leaves all boxes ticked. */
function defaultFuncIds(type: AccountType): number[] {
  return FUNC_SETS[type].map((f) => f.id);
}
