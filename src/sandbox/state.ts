import { createHash, randomBytes } from 'node:crypto';
import type { SandboxAccount } from './accounts.js';
import type { SandboxClock } from './clock.js';
import { reject } from './errors.js';
import type { AuditOutcome, RefreshTokenMode, SandboxComponent, SandboxPlatform } from './options.js';
import type { MiniProgramCode } from './code-state.js';
import type { TemplateLibrary } from './templates.js';
import { CustomerServiceWindows } from './cs-window.js';

export const ACCESS_TOKEN_TTL_SECONDS = 7200;
/** A replaced access token keeps working this long (WeChat: "旧的 access_token 在 5 分钟内仍可使用"). */
export const TOKEN_OVERLAP_MS = 5 * 60_000;
export const TICKET_TTL_MS = 12 * 3600_000;
export const AUTH_CODE_TTL_SECONDS = 600;
export const JS_CODE_TTL_MS = 5 * 60_000;
export const JSAPI_TICKET_TTL_SECONDS = 7200;

const TOKEN_SHAPE = /^[A-Za-z0-9_\-@*.]{20,512}$/;

export type TokenKind = 'component' | 'authorizer';

export interface TokenRecord {
  value: string;
  kind: TokenKind;
  /** The component appid for a CAT, the authorizer appid for an AAT. */
  appid: string;
  issuedAt: number;
  expiresAt: number;
  /** When a newer token for the same account was issued. */
  supersededAt?: number;
}

export interface Authorization {
  appid: string;
  funcIds: number[];
  refreshToken: string;
  /** Rotated-away refresh tokens and when they stop working (rotate mode grace). */
  retiredRefreshTokens: Map<string, number>;
  /** Epoch ms of the latest (re-)authorization. */
  authTime: number;
  revoked: boolean;
  options: Map<string, string>;
}

export interface SingleUseCode {
  expiresAt: number;
  used: boolean;
}
export interface AuthCode extends SingleUseCode {
  appid: string;
}
export interface JsCode extends SingleUseCode {
  appid: string;
  openid: string;
  /** The session_key jscode2session answers; random unless a test fixes it (e.g. to an official vector's). */
  sessionKey?: string;
}

export interface PrivacySetting {
  ownerSetting: Record<string, unknown>;
  settingList: Array<{ privacy_key: string; privacy_text: string }>;
  updateTime: number;
}

export interface OAuthCode extends SingleUseCode {
  appid: string;
  openid: string;
  scope: string;
}

export interface SentMessage {
  appid: string;
  touser: string;
  msgtype: string;
  body: Record<string, unknown>;
  at: number;
}

export interface PushRecord {
  at: number;
  target: 'component' | 'authorizer';
  url: string;
  /** InfoType or Event or MsgType of what was pushed. */
  type: string;
  appid?: string;
  status?: number;
  /** Set when delivery failed (network error, timeout, non-2xx, refused URL). */
  error?: string;
}

export interface Settings {
  refreshTokenMode: RefreshTokenMode;
  refreshTokenGraceMs: number;
  ticketIntervalMs: number;
  auditDelaySeconds: number;
  auditOutcome: AuditOutcome;
  preAuthCodeTtlSeconds: number;
  privacyCheckSeconds: number;
  auditQuotaPerMonth: number;
  platformDomains: string[];
  allowRemotePush: boolean;
  pushTimestamps: 'sandbox' | 'real';
  entryDomainCheck: boolean;
}

export function randomToken(prefix = '', bytes = 48): string {
  return `${prefix}${randomBytes(bytes).toString('base64url')}`;
}

/** A stable 28-character openid for (appid, user), shaped like WeChat's. */
export function openidFor(appid: string, user: string): string {
  return `o${createHash('sha256').update(`${appid}:${user}`).digest('base64url').slice(0, 27)}`;
}

/**
 * Everything the simulated WeChat remembers. In memory; with `stateFile` every field here (Maps, Sets,
 * arrays, nested objects) is saved and restored generically (persistence.ts), so new fields persist too.
 */
export class SandboxState {
  readonly accounts = new Map<string, SandboxAccount>();
  readonly tokens = new Map<string, TokenRecord>();
  private readonly currentToken = new Map<string, string>();
  readonly tickets = new Map<string, number>();
  latestTicket: string | undefined;
  readonly preAuthCodes = new Map<string, SingleUseCode>();
  readonly authCodes = new Map<string, AuthCode>();
  readonly jsCodes = new Map<string, JsCode>();
  readonly authorizations = new Map<string, Authorization>();
  readonly jsapiTickets = new Map<string, { appid: string; expiresAt: number }>();
  readonly sentMessages: SentMessage[] = [];
  /** Customer-service windows opened by users' actions (spec 13). */
  readonly csWindows = new CustomerServiceWindows(() => this.clock.now(), true);
  readonly pushLog: PushRecord[] = [];
  readonly code = new Map<string, MiniProgramCode>();
  readonly auditOutcomes = new Map<string, { outcome: AuditOutcome; reason?: string }>();
  /** Submissions per month for the provider-wide submit_audit quota. */
  readonly auditSubmissions = new Map<number, number>();
  /** Privacy guidelines per mini program: dev (privacy_ver 2) and live (1) (spec 15). */
  readonly privacy = new Map<string, { dev?: PrivacySetting; live?: PrivacySetting }>();
  /** Speed-ups used per month (provider-wide, like the audit quota) and the audits sped up. */
  readonly speedups = new Map<number, number>();
  readonly spedUpAudits = new Set<number>();
  /** Official-account menus, parametric QR tickets and short keys. */
  readonly menus = new Map<string, unknown[]>();
  readonly shortKeys = new Map<string, { appid: string; longData: string; createdAt: number; expiresAt: number }>();
  /** Official-account web OAuth on behalf (spec 6.2): codes, user access tokens, refresh tokens. */
  readonly oauthCodes = new Map<string, OAuthCode>();
  readonly snsTokens = new Map<string, { appid: string; openid: string; scope: string; expiresAt: number }>();
  readonly snsRefreshTokens = new Map<string, { appid: string; openid: string; scope: string; expiresAt: number }>();
  nextAuditId = 420_000_001;
  nextAppVersion = 1;
  platform: SandboxPlatform | undefined;

  constructor(
    readonly component: SandboxComponent,
    readonly clock: SandboxClock,
    readonly settings: Settings,
    accounts: SandboxAccount[],
    readonly templates: TemplateLibrary,
  ) {
    for (const a of accounts) this.accounts.set(a.appid, a);
  }

  account(appid: string | undefined): SandboxAccount {
    if (!appid) reject(41002);
    const account = this.accounts.get(appid);
    if (!account) reject(40013);
    return account;
  }

  /** A new access token; the previous one of the same account keeps working for 5 more minutes. */
  issueToken(kind: TokenKind, appid: string): TokenRecord {
    const now = this.clock.now();
    const subject = `${kind}:${appid}`;
    const previous = this.currentToken.get(subject);
    if (previous !== undefined) {
      const record = this.tokens.get(previous);
      if (record && record.supersededAt === undefined) record.supersededAt = now;
    }
    const record: TokenRecord = {
      value: randomToken(kind === 'component' ? 'cat_' : 'aat_', 64),
      kind,
      appid,
      issuedAt: now,
      expiresAt: now + ACCESS_TOKEN_TTL_SECONDS * 1000,
    };
    this.tokens.set(record.value, record);
    this.currentToken.set(subject, record.value);
    return record;
  }

  /** 41001 missing · 40014 malformed · 40001 unknown/wrong kind/replaced · 42001 expired. */
  checkToken(value: string | undefined, kind: TokenKind): TokenRecord {
    if (value === undefined || value === '') reject(41001);
    if (!TOKEN_SHAPE.test(value)) reject(40014);
    const record = this.tokens.get(value);
    if (!record || record.kind !== kind) reject(40001);
    const now = this.clock.now();
    if (now >= record.expiresAt) reject(42001);
    if (record.supersededAt !== undefined && now >= record.supersededAt + TOKEN_OVERLAP_MS) reject(40001);
    return record;
  }

  mintTicket(): string {
    const ticket = randomToken('ticket@@@', 48);
    this.tickets.set(ticket, this.clock.now());
    this.latestTicket = ticket;
    return ticket;
  }

  mintPreAuthCode(): { code: string; expiresIn: number } {
    const code = randomToken('preauthcode@@@', 36);
    const expiresIn = this.settings.preAuthCodeTtlSeconds;
    this.preAuthCodes.set(code, { expiresAt: this.clock.now() + expiresIn * 1000, used: false });
    return { code, expiresIn };
  }

  /** Why a pre_auth_code cannot be used, or undefined when it can. */
  preAuthCodeProblem(code: string | undefined): string | undefined {
    const record = code ? this.preAuthCodes.get(code) : undefined;
    if (!record) return 'pre_auth_code 无效 (unknown pre_auth_code)';
    if (record.used) return 'pre_auth_code 已被使用 (pre_auth_code has already been used)';
    if (this.clock.now() >= record.expiresAt) return 'pre_auth_code 已过期 (pre_auth_code has expired)';
    return undefined;
  }

  mintAuthCode(appid: string): string {
    const code = randomToken('queryauthcode@@@', 36);
    this.authCodes.set(code, { appid, expiresAt: this.clock.now() + AUTH_CODE_TTL_SECONDS * 1000, used: false });
    return code;
  }

  /** api_query_auth: 61009 unknown or already used, 61010 expired. */
  consumeAuthCode(code: string | undefined): AuthCode {
    const record = code ? this.authCodes.get(code) : undefined;
    if (!record || record.used) reject(61009);
    if (this.clock.now() >= record.expiresAt) reject(61010);
    record.used = true;
    return record;
  }

  mintJsCode(appid: string, openid: string, sessionKey?: string): string {
    const code = randomBytes(16).toString('hex');
    this.jsCodes.set(code, { appid, openid, expiresAt: this.clock.now() + JS_CODE_TTL_MS, used: false, ...(sessionKey !== undefined && { sessionKey }) });
    return code;
  }

  /** jscode2session: 40029 unknown, expired or for another appid; 40163 already used. */
  consumeJsCode(code: string | undefined, appid: string): JsCode {
    const record = code ? this.jsCodes.get(code) : undefined;
    if (!record || record.appid !== appid) reject(40029);
    if (record.used) reject(40163);
    if (this.clock.now() >= record.expiresAt) reject(40029);
    record.used = true;
    return record;
  }

  /** The live authorization of `appid`, or 61003 when there is none or it was revoked. */
  activeAuthorization(appid: string): Authorization {
    const auth = this.authorizations.get(appid);
    if (!auth || auth.revoked) reject(61003);
    return auth;
  }

  /** api_authorizer_token's refresh token check and (in rotate mode) rotation. */
  useRefreshToken(appid: string, refreshToken: string | undefined): string {
    const auth = this.activeAuthorization(appid);
    const now = this.clock.now();
    const retiredUntil = refreshToken ? auth.retiredRefreshTokens.get(refreshToken) : undefined;
    const valid = refreshToken === auth.refreshToken || (retiredUntil !== undefined && now < retiredUntil);
    if (!valid) reject(61023);
    if (this.settings.refreshTokenMode === 'rotate') {
      auth.retiredRefreshTokens.set(auth.refreshToken, now + this.settings.refreshTokenGraceMs);
      auth.refreshToken = randomToken('refreshtoken@@@', 36);
    }
    return auth.refreshToken;
  }
}
