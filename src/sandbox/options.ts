import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { SandboxAccount } from './accounts.js';
import type { Fault } from './faults.js';

export interface SandboxComponent {
  appid: string;
  secret: string;
  token: string;
  encodingAesKey: string;
}

/** Where the simulated WeChat posts: the platform's two URLs (spec 1.2). */
export interface SandboxPlatform {
  /** Authorization-event URL (tickets, authorized/unauthorized/updateauthorized). */
  componentPushUrl: string;
  /** Message & event URL containing `$APPID$`. */
  authorizerPushUrl: string;
  /**
   * The registered 授权发起页域名 (spec 14): a bare host. Default: the host of `componentPushUrl`
   * (set it when browsers reach the platform under another name, e.g. localhost vs 127.0.0.1).
   */
  entryDomain?: string;
}

export type RefreshTokenMode = 'stable' | 'rotate';
export type AuditOutcome = 'success' | 'fail' | 'delay';

export interface SandboxOptions {
  /** 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /**
   * The base URL browsers reach the sandbox at, for the links it hands out (an account's `head_img`);
   * default the address it listens on.
   */
  publicUrl?: string;
  /** Default: the demo component of `SANDBOX_DEFAULTS`. */
  component?: SandboxComponent;
  platform?: SandboxPlatform;
  /** Simulated merchants; default `defaultAccounts()` (includes the five release test groups). */
  accounts?: SandboxAccount[];
  /** Ticket push interval on the sandbox clock; default 600000 (10 min), 0 disables the schedule. */
  ticketIntervalMs?: number;
  refreshTokenMode?: RefreshTokenMode;
  /** How long a rotated-away refresh token still works; default 0. */
  refreshTokenGraceMs?: number;
  /** Time from submit_audit to the audit result, on the sandbox clock; default 60. */
  auditDelaySeconds?: number;
  /** Default audit result for every mini program; per appid with `setAuditOutcome`. Default success. */
  auditOutcome?: AuditOutcome;
  /** Daily call limits by API path; merged over `DEFAULT_DAILY_QUOTAS`. */
  quotas?: Record<string, number>;
  /** pre_auth_code lifetime; default 600 (spec 3.2 examples). */
  preAuthCodeTtlSeconds?: number;
  /** Seconds after commit before submit_audit stops answering 61039; default 0 (no privacy task). */
  privacyCheckSeconds?: number;
  /** The provider's monthly submit_audit quota (queryquota `limit`); default 20. */
  auditQuotaPerMonth?: number;
  /** Domains registered on the platform's "服务器域名" page; modify_domain accepts only these hosts. */
  platformDomains?: string[];
  /** Faults present from the start, by path. */
  faults?: Array<{ path: string; fault: Fault }>;
  /**
   * Clock for the `timestamp` a push is signed with. `sandbox` (default) keeps one simulated world
   * time, so give the platform `sandbox.clock` too; `real` suits a platform in another process with
   * a replay window, which would refuse pushes stamped after `advance()` as stale. CreateTime and
   * other message fields always follow the sandbox clock.
   */
  pushTimestamps?: 'sandbox' | 'real';
  /**
   * Enforce the customer-service window on custom/send (spec 13: 45015 outside it, 45047 over its
   * count); default true. A user's message to the account opens it.
   */
  customerServiceWindow?: boolean;
  /**
   * Refuse the PC authorization page unless the Referer's host (and redirect_uri's) is the platform's
   * registered entry domain (spec 14); default true. Checked only when a platform is configured.
   */
  entryDomainCheck?: boolean;
  /** When set, /sandbox/admin/* requires `Authorization: Bearer <adminToken>` (the operator's token). */
  adminToken?: string;
  /** Pushes go to loopback addresses only unless this is set. */
  allowRemotePush?: boolean;
  /**
   * A JSON file that keeps the simulated WeChat's state (tokens, authorizations, codes, quotas, the
   * clock offset…) across restarts: loaded at start, saved after changes. Default: in memory only.
   */
  stateFile?: string;
  /** Base time source (the sandbox adds its own offset). */
  clock?: Clock;
  logger?: Logger;
}

/** Daily limits used when `quotas` does not name a path (numbers from spec 9.2 where known). */
export const DEFAULT_DAILY_QUOTAS: Readonly<Record<string, number>> = {
  '/cgi-bin/component/api_component_token': 2000,
  '/wxa/revertcoderelease': 30,
  '*': 10_000,
};

/** api_component_token's quota cannot be reset by clear_quota (spec 3.8, 9.2). */
export const UNRESETTABLE_QUOTA_PATHS: ReadonlySet<string> = new Set(['/cgi-bin/component/api_component_token']);

export const DEFAULT_PLATFORM_DOMAINS = [
  'https://api.sandbox-merchant.com',
  'https://cdn.sandbox-merchant.com',
  'wss://ws.sandbox-merchant.com',
  'udp://udp.sandbox-merchant.com',
  'tcp://tcp.sandbox-merchant.com',
];
