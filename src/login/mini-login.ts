import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { ApiCaller } from '../api/client.js';
import { decryptOpenData } from '../crypto/open-data.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { WeChatApiError, WxOpenError } from '../errors.js';
import type { Store } from '../store/types.js';
import type { Clock } from '../util/clock.js';

/** wx.login's code was refused: the mini program must call wx.login again (spec 6.1). */
export class LoginCodeError extends WxOpenError {
  readonly code = 'WXO_ERR_LOGIN_CODE';
  override readonly statusCode = 400;
  constructor(
    readonly reason: 'invalid_code' | 'code_used',
    cause: WeChatApiError,
  ) {
    super(
      reason === 'code_used'
        ? 'this wx.login code has already been used (40163): call wx.login again for a new one'
        : 'this wx.login code is invalid or expired (40029): call wx.login again for a new one',
      { cause },
    );
  }
}

/** Unknown, expired or foreign session id: log in again. */
export class SessionExpiredError extends WxOpenError {
  readonly code = 'WXO_ERR_SESSION_EXPIRED';
  override readonly statusCode = 401;
  constructor() {
    super('login session unknown or expired: call wx.login and log in again');
  }
}

const Code2SessionAnswer = z.looseObject({ openid: z.string().min(1), session_key: z.string().min(1), unionid: z.string().optional() });

export interface LoginResult {
  /** Opaque bearer id for the mini program; the session_key never leaves the server. */
  sessionId: string;
  openid: string;
  unionid: string | undefined;
  expiresAt: number;
}

export interface LoginOptions {
  componentAppid: string;
  store: Store;
  box: SecretBox;
  clock: Clock;
  /** The component-token caller (jscode2session takes the CAT in component_access_token). */
  component: ApiCaller;
  /** How long a session is kept; WeChat states no lifetime for session_key. Default 7 days. */
  sessionTtlMs?: number;
}

export const DEFAULT_SESSION_TTL_MS = 7 * 86_400_000;

/** Store key: a hash, so a leaked table holds no usable session ids. */
function sessionKeyOf(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('base64url');
}

/**
 * Component mini-program login (spec 6.1, 6.1b): jscode2session with the component token, the
 * session_key sealed in the store under an opaque session id, and open-data decryption with it.
 */
export class MiniProgramLogin {
  constructor(private readonly o: LoginOptions) {}

  private aad(appid: string, key: string): string {
    return `${this.o.componentAppid}:${appid}:${key}`;
  }

  async code2session(appid: string, jsCode: string): Promise<LoginResult> {
    const { o } = this;
    let answer: z.infer<typeof Code2SessionAnswer>;
    try {
      answer = await o.component.call(
        {
          method: 'GET',
          path: '/sns/component/jscode2session',
          query: { appid, js_code: jsCode, grant_type: 'authorization_code', component_appid: o.componentAppid },
          // A code is single-use: a repeat after a lost answer would be 40163, so never repeat.
          idempotent: false,
          subject: appid,
        },
        Code2SessionAnswer,
      );
    } catch (err) {
      if (err instanceof WeChatApiError && err.errcode === 40029) throw new LoginCodeError('invalid_code', err);
      if (err instanceof WeChatApiError && err.errcode === 40163) throw new LoginCodeError('code_used', err);
      throw err;
    }
    const sessionId = randomBytes(24).toString('base64url');
    const key = sessionKeyOf(sessionId);
    const now = o.clock.now();
    const expiresAt = now + (o.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS);
    await o.store.saveLoginSession({
      componentAppid: o.componentAppid,
      sessionId: key,
      authorizerAppid: appid,
      openid: answer.openid,
      unionid: answer.unionid ?? null,
      sessionKeyEnc: o.box.seal(answer.session_key, this.aad(appid, key)),
      createdAt: now,
      expiresAt,
    });
    return { sessionId, openid: answer.openid, unionid: answer.unionid, expiresAt };
  }

  /** The session's user, or SessionExpiredError. */
  async session(appid: string, sessionId: string): Promise<{ openid: string; unionid: string | undefined; expiresAt: number }> {
    const r = await this.record(appid, sessionId);
    return { openid: r.openid, unionid: r.unionid ?? undefined, expiresAt: r.expiresAt };
  }

  /**
   * Decrypts wx.getUserInfo / getPhoneNumber-style `encryptedData` with the session's key; the
   * watermark appid must be this mini program's (OpenDataError 400 otherwise, never a 500).
   */
  async decrypt(appid: string, sessionId: string, encryptedData: string, iv: string): Promise<Record<string, unknown>> {
    const r = await this.record(appid, sessionId);
    const sessionKey = this.o.box.open(r.sessionKeyEnc, this.aad(appid, r.sessionId));
    return decryptOpenData(encryptedData, iv, sessionKey, appid);
  }

  async logout(appid: string, sessionId: string): Promise<boolean> {
    const key = sessionKeyOf(sessionId);
    const r = await this.o.store.getLoginSession(this.o.componentAppid, key);
    if (!r || r.authorizerAppid !== appid) return false;
    return this.o.store.deleteLoginSession(this.o.componentAppid, key);
  }

  private async record(appid: string, sessionId: string) {
    const r = typeof sessionId === 'string' && sessionId !== '' ? await this.o.store.getLoginSession(this.o.componentAppid, sessionKeyOf(sessionId)) : undefined;
    if (!r || r.authorizerAppid !== appid || r.expiresAt <= this.o.clock.now()) throw new SessionExpiredError();
    return r;
  }
}
