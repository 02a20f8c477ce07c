import { epochSeconds } from './clock.js';
import type { SandboxContext } from './context.js';
import { reject } from './errors.js';
import { FUNC_SETS } from './permissions.js';
import type { Delivery } from './pusher.js';
import { AUTH_CODE_TTL_SECONDS, randomToken } from './state.js';

export interface AuthorizationResult {
  authCode: string;
  expiresIn: number;
  preAuthCode: string;
  /** The push sent to the authorization-event URL; none when the permission set did not change. */
  event: 'authorized' | 'updateauthorized' | undefined;
  /** Settles when the push was delivered (or failed). */
  delivery: Promise<Delivery | undefined>;
}

/**
 * What the admin's confirm click on the authorization page does: record the grant, issue a new
 * refresh token (the previous one dies, "用户重新授权后，之前的刷新令牌会失效"), mint the single-use
 * auth_code and push `authorized` / `updateauthorized`.
 */
export function authorizeAccount(
  ctx: SandboxContext,
  appid: string,
  requestedFuncIds: readonly number[],
  preAuthCode?: string,
): AuthorizationResult {
  const { state } = ctx;
  const account = state.account(appid);
  const offered = new Set(FUNC_SETS[account.type].map((f) => f.id));
  const funcIds = [...new Set(requestedFuncIds)].filter((id) => offered.has(id)).sort((a, b) => a - b);
  if (funcIds.length === 0) reject(47001, `no permission set of a ${account.type} account was granted`);
  let code = preAuthCode;
  if (code === undefined) code = state.mintPreAuthCode().code;
  const problem = state.preAuthCodeProblem(code);
  if (problem) reject(61009, problem);
  state.preAuthCodes.get(code)!.used = true;

  const previous = state.authorizations.get(appid);
  const wasActive = previous !== undefined && !previous.revoked;
  const changed = !wasActive || previous.funcIds.join(',') !== funcIds.join(',');
  state.authorizations.set(appid, {
    appid,
    funcIds,
    refreshToken: randomToken('refreshtoken@@@', 36),
    retiredRefreshTokens: new Map(),
    authTime: state.clock.now(),
    revoked: false,
    options: previous?.options ?? new Map(),
  });
  const authCode = state.mintAuthCode(appid);
  const event = !wasActive ? 'authorized' : changed ? 'updateauthorized' : undefined;
  const now = epochSeconds(state.clock);
  const delivery =
    event === undefined
      ? Promise.resolve(undefined)
      : ctx.pusher.pushComponent({
          AppId: state.component.appid,
          CreateTime: now,
          InfoType: event,
          AuthorizerAppid: appid,
          AuthorizationCode: authCode,
          // An epoch (the doc's "过期时间"); spec 2.2 tells clients to accept either reading.
          AuthorizationCodeExpiredTime: now + AUTH_CODE_TTL_SECONDS,
          PreAuthCode: code,
        });
  return { authCode, expiresIn: AUTH_CODE_TTL_SECONDS, preAuthCode: code, event, delivery };
}

/** The admin cancels the authorization in the WeChat backend: tokens die, `unauthorized` is pushed. */
export function revokeAccount(ctx: SandboxContext, appid: string): Promise<Delivery> {
  const { state } = ctx;
  const auth = state.activeAuthorization(appid);
  auth.revoked = true;
  // Its access tokens stay "valid" as tokens; every authorizer API checks the authorization and answers 61003.
  auth.retiredRefreshTokens.clear();
  return ctx.pusher.pushComponent({
    AppId: state.component.appid,
    CreateTime: epochSeconds(state.clock),
    InfoType: 'unauthorized',
    AuthorizerAppid: appid,
  });
}
