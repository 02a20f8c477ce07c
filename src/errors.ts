import { egressIpFrom, errcodeInfo, permissionSetsFor, ridFrom, type ErrcodeClass, type PermissionSet } from './api/errors.js';

/**
 * Every error wxopen throws is a `WxOpenError` with a stable `code` (`WXO_ERR_*`), so callers, logs and
 * metrics can branch on the code instead of parsing messages. Errors that map to an HTTP answer carry
 * `statusCode`.
 */
export abstract class WxOpenError extends Error {
  abstract readonly code: string;
  readonly statusCode: number = 500;
  /** The message without the `[wxopen]` prefix, for output that already says it is wxopen's. */
  readonly detail: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(`[wxopen] ${message}`, options);
    this.name = new.target.name;
    this.detail = message;
  }
}

/** Invalid configuration: the message is one line naming the variable. */
export class ConfigError extends WxOpenError {
  readonly code = 'WXO_ERR_CONFIG';
  /** Every problem found (the first is `variable`/`problem`), so one run reports them all. */
  readonly issues: ReadonlyArray<{ variable: string; problem: string }>;
  constructor(
    readonly variable: string,
    readonly problem: string,
    more: ReadonlyArray<{ variable: string; problem: string }> = [],
  ) {
    super([{ variable, problem }, ...more].map((i) => `${i.variable}: ${i.problem}`).join('; '));
    this.issues = [{ variable, problem }, ...more];
  }
}

/**
 * Reasons a push or a ciphertext is refused. They are the `reason` of a failed verification, the
 * `code` suffix of `CryptoError`, the log field and the metric label, so keep them stable.
 */
export const CRYPTO_FAILURES = {
  illegal_aes_key: 'EncodingAESKey does not decode to 32 bytes (WeChat -40004)',
  bad_signature: 'msg_signature does not match (WeChat -40001)',
  bad_base64: 'Encrypt is not valid base64 (WeChat -40010)',
  bad_block_length: 'ciphertext length is not a positive multiple of 16 (WeChat -40007)',
  bad_padding: 'PKCS#7 padding is not 1..32 equal bytes (WeChat -40007)',
  bad_length: 'declared message length exceeds the plaintext (WeChat -40008)',
  appid_mismatch: 'receiveId in the plaintext is not the expected appid (WeChat -40005)',
} as const;
export type CryptoFailure = keyof typeof CRYPTO_FAILURES;

export class CryptoError extends WxOpenError {
  readonly code: string;
  override readonly statusCode = 400;
  constructor(
    readonly reason: CryptoFailure,
    detail?: string,
  ) {
    super(detail ? `${CRYPTO_FAILURES[reason]}: ${detail}` : CRYPTO_FAILURES[reason]);
    this.code = `WXO_ERR_CRYPTO_${reason.toUpperCase()}`;
  }
}

export class XmlError extends WxOpenError {
  readonly code: string;
  override readonly statusCode = 400;
  constructor(
    readonly reason: 'xml_forbidden' | 'xml_malformed' | 'xml_too_large',
    detail: string,
  ) {
    super(`XML ${reason === 'xml_forbidden' ? 'refused' : 'invalid'}: ${detail}`);
    this.code = `WXO_ERR_${reason.toUpperCase()}`;
  }
}

/** Token-invalid codes: refresh once and retry once (spec 3.0, WxJava ACCESS_TOKEN_ERROR_CODES). */
export const TOKEN_INVALID_ERRCODES: ReadonlySet<number> = new Set([40001, 40014, 42001]);
/** Codes that mean the authorizer must authorize the platform again (spec 8, handling "A"). */
export const REAUTHORIZE_ERRCODES: ReadonlySet<number> = new Set([61003, 61023]);
export const QUOTA_ERRCODES: ReadonlySet<number> = new Set([45009, 45011, 48006, 85085, 87013]);

export type WeChatErrorKind = 'token' | 'reauthorize' | 'quota' | 'busy' | 'ticket' | 'config' | 'request';

/** Classifies an errcode by how a caller should react (spec 8 handling key). */
export function classifyErrcode(errcode: number): WeChatErrorKind {
  if (TOKEN_INVALID_ERRCODES.has(errcode)) return 'token';
  if (REAUTHORIZE_ERRCODES.has(errcode)) return 'reauthorize';
  if (QUOTA_ERRCODES.has(errcode)) return 'quota';
  if (errcode === -1) return 'busy';
  if (errcode === 61005 || errcode === 61006) return 'ticket';
  if ([40013, 40125, 41004, 40164, 61004, 61011, 48001, 61007].includes(errcode)) return 'config';
  return 'request';
}

/**
 * A WeChat API answer with a non-zero errcode. `rid` is the request id WeChat support asks for. The
 * errcode table (src/api/errors.ts, spec 8) gives `meaning`, `retryable` and `errorClass`; 61007 (and
 * 48001, which can mean the same for provider-only APIs, spec 12.1) name the permission sets the API
 * needs; 61004/40164 name the egress IP to whitelist.
 */
export class WeChatApiError extends WxOpenError {
  readonly code = 'WXO_ERR_WECHAT_API';
  override readonly statusCode = 502;
  readonly kind: WeChatErrorKind;
  readonly rid: string | undefined;
  readonly meaning: { zh: string; en: string };
  readonly retryable: boolean;
  readonly errorClass: ErrcodeClass;
  /** 61007/48001/61016: the sets (any one suffices) the API belongs to, from spec 12. */
  readonly missingPermissionSets: PermissionSet[] | undefined;
  /** 61004/40164: the IP WeChat saw us call from. */
  readonly egressIp: string | undefined;
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
    readonly path: string,
  ) {
    super(describe(errcode, errmsg, path));
    const info = errcodeInfo(errcode);
    this.kind = classifyErrcode(errcode);
    this.rid = ridFrom(errmsg);
    this.meaning = { zh: info.zh, en: info.en };
    this.retryable = info.retryable;
    this.errorClass = info.class;
    const sets = permissionSetsFor(path);
    this.missingPermissionSets = PERMISSION_ERRCODES.has(errcode) && sets.length > 0 ? sets : undefined;
    this.egressIp = errcode === 61004 || errcode === 40164 ? egressIpFrom(errmsg) : undefined;
  }
}

const PERMISSION_ERRCODES = new Set([61007, 48001, 61016]);

function describe(errcode: number, errmsg: string, path: string): string {
  const info = errcodeInfo(errcode);
  let text = `${path} failed with errcode ${errcode}: ${errmsg} (${info.en}; ${info.zh})`;
  const sets = permissionSetsFor(path).map((s) => `[${s.id}] ${s.name}`).join(' or ');
  if (errcode === 61007 && sets) text += `. The merchant has not granted ${sets}: ask its admin to authorize the platform again with that set`;
  if (errcode === 48001 && sets) text += `. Check the token kind (an official account's token on a mini-program API), the account's own capability, then whether ${sets} is granted`;
  if ((errcode === 61005 || errcode === 61006) && path.endsWith('/api_component_token')) {
    text += '. The stored component_verify_ticket was refused; with none newer stored, wxopen asks WeChat to push one (api_start_push_ticket): try again once it has arrived';
  }
  if (errcode === 61004 || errcode === 40164) {
    const ip = egressIpFrom(errmsg);
    text += `. Add ${ip ?? 'the server egress IP'} to the platform's IP whitelist (open.weixin.qq.com → 第三方平台 → 开发资料 → 白名单IP地址)`;
  }
  return text;
}

/** The upstream could not be reached or answered without a WeChat JSON body (network error, 5xx). */
export class UpstreamError extends WxOpenError {
  readonly code = 'WXO_ERR_UPSTREAM';
  override readonly statusCode = 502;
  /** The API base that failed (the last one tried), for a log line that names it without parsing the message. */
  readonly host: string | undefined;
  constructor(message: string, options: { cause?: unknown; host?: string } = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.host = options.host;
  }
}

/** No component_verify_ticket has been received (or the newest one is too old to use). */
export class TicketMissingError extends WxOpenError {
  readonly code = 'WXO_ERR_TICKET_MISSING';
  override readonly statusCode = 503;
  constructor(detail: string) {
    super(
      `no usable component_verify_ticket: ${detail}. The authorization-event URL (POST /wechat/component) has not received a ticket push; check that WeChat can reach it`,
    );
  }
}

export class AuthorizerNotFoundError extends WxOpenError {
  readonly code = 'WXO_ERR_AUTHORIZER_NOT_FOUND';
  override readonly statusCode = 404;
  constructor(readonly authorizerAppid: string) {
    super(`authorizer ${authorizerAppid} has not authorized this platform (no record)`);
  }
}

/** The authorizer's refresh token is dead or access was revoked: only the merchant can fix it. */
export class ReauthorizationRequiredError extends WxOpenError {
  readonly code = 'WXO_ERR_REAUTHORIZATION_REQUIRED';
  override readonly statusCode = 409;
  constructor(
    readonly authorizerAppid: string,
    readonly status: string,
    readonly reason: string | null,
  ) {
    super(`authorizer ${authorizerAppid} is ${status}${reason ? ` (${reason})` : ''}: the merchant must authorize the platform again`);
  }
}

/**
 * WeChat answered errcode 0 (or none) but the body lacks or mistypes a field we rely on. Typed so a
 * caller never meets a TypeError or loops on garbage; `field` names the first bad one.
 */
export class UpstreamInvalidError extends WxOpenError {
  readonly code = 'WXO_ERR_UPSTREAM_INVALID';
  override readonly statusCode = 502;
  constructor(
    readonly path: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${path} answered an invalid body: ${field || '(root)'}: ${problem}`);
  }
}

/**
 * A host framework parsed a push body into an object before wxopen's adapter saw it: the bytes the
 * signature covers are gone. Answered 503 (WeChat retries) and logged with the fix.
 */
export class PushBodyConsumedError extends WxOpenError {
  readonly code = 'WXO_ERR_PUSH_BODY_CONSUMED';
  override readonly statusCode = 503;
  constructor(host: string) {
    super(
      `the push body was parsed before the ${host} adapter saw it, so its signature cannot be checked: mount the adapter before body parsers, or let the parser keep the raw body (a string or Buffer, e.g. express.raw/express.text, or ctx.request.rawBody)`,
    );
  }
}
