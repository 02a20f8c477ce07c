import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { SandboxContext } from '../context.js';
import { reject } from '../errors.js';
import { checkComponentAppid, queryParam, requireComponentToken } from '../guards.js';
import { ACCESS_TOKEN_TTL_SECONDS, openidFor, randomToken } from '../state.js';

const OAUTH_CODE_TTL_MS = 5 * 60_000;
const SNS_REFRESH_TTL_MS = 30 * 86_400_000;
/** Web OAuth on behalf needs the official account's 网页服务 set (spec 11.1, id 4). */
const WEB_SERVICE_SET = 4;

function errorPage(message: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>授权失败</title></head><body><p id="error">${message.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)}</p></body></html>`;
}

/**
 * Official-account web OAuth on behalf (spec 6.2): the authorize page (the user consents at once and is
 * redirected with a single-use code), the component code exchange and refresh, and sns/userinfo.
 * `sandbox_user` on the authorize URL picks which simulated user consents (default `demo-user`).
 */
export async function snsOAuthRoutes(app: FastifyInstance, ctx: SandboxContext): Promise<void> {
  const { state } = ctx;

  app.get('/connect/oauth2/authorize', async (request, reply) => {
    const q = (name: string) => queryParam(request, name);
    const fail = (why: string) => reply.code(400).type('text/html; charset=utf-8').send(errorPage(why));
    if (q('component_appid') !== state.component.appid) return fail('component_appid 无效 (unknown component_appid)');
    if (q('response_type') !== 'code') return fail('response_type 必须为 code');
    const scope = q('scope');
    if (scope !== 'snsapi_base' && scope !== 'snsapi_userinfo') return fail('scope 参数错误 (snsapi_base or snsapi_userinfo)');
    const redirect = q('redirect_uri');
    if (!redirect || !/^https?:\/\/[^\s/]+/.test(redirect)) return fail('redirect_uri 参数错误');
    const appid = q('appid') ?? '';
    const account = state.accounts.get(appid);
    const auth = state.authorizations.get(appid);
    if (!account || account.type !== 'official') return fail('appid 无效 (not an official account)');
    if (!auth || auth.revoked || !auth.funcIds.includes(WEB_SERVICE_SET)) return fail('该公众号未授权网页服务权限给此第三方平台 (set 4 not granted)');
    const code = randomBytes(16).toString('hex');
    const openid = openidFor(appid, q('sandbox_user') ?? 'demo-user');
    state.oauthCodes.set(code, { appid, openid, scope, expiresAt: state.clock.now() + OAUTH_CODE_TTL_MS, used: false });
    const location = `${redirect}${redirect.includes('?') ? '&' : '?'}code=${code}&state=${encodeURIComponent(q('state') ?? '')}&appid=${appid}`;
    return reply.redirect(location, 302);
  });

  const issue = (appid: string, openid: string, scope: string, refreshToken?: string) => {
    const now = state.clock.now();
    const accessToken = randomToken('snsat_', 48);
    state.snsTokens.set(accessToken, { appid, openid, scope, expiresAt: now + ACCESS_TOKEN_TTL_SECONDS * 1000 });
    const refresh = refreshToken ?? randomToken('snsrt_', 48);
    if (!refreshToken) state.snsRefreshTokens.set(refresh, { appid, openid, scope, expiresAt: now + SNS_REFRESH_TTL_MS });
    const unionid = `o${createHash('sha256').update(`${state.account(appid).principalName}:${openid}`).digest('base64url').slice(0, 27)}`;
    return { access_token: accessToken, expires_in: ACCESS_TOKEN_TTL_SECONDS, refresh_token: refresh, openid, scope, ...(scope === 'snsapi_userinfo' && { unionid }) };
  };

  app.get('/sns/oauth2/component/access_token', async (request) => {
    requireComponentToken(ctx, request, ['component_access_token']);
    checkComponentAppid(ctx, queryParam(request, 'component_appid'));
    if (queryParam(request, 'grant_type') !== 'authorization_code') reject(40002);
    const appid = queryParam(request, 'appid');
    const code = queryParam(request, 'code');
    const record = code ? state.oauthCodes.get(code) : undefined;
    if (!record || record.appid !== appid) reject(40029);
    if (record.used) reject(40163);
    if (state.clock.now() >= record.expiresAt) reject(40029);
    record.used = true;
    state.activeAuthorization(record.appid);
    return issue(record.appid, record.openid, record.scope);
  });

  app.get('/sns/oauth2/component/refresh_token', async (request) => {
    requireComponentToken(ctx, request, ['component_access_token']);
    checkComponentAppid(ctx, queryParam(request, 'component_appid'));
    if (queryParam(request, 'grant_type') !== 'refresh_token') reject(40002);
    const token = queryParam(request, 'refresh_token');
    const record = token ? state.snsRefreshTokens.get(token) : undefined;
    if (!record || record.appid !== queryParam(request, 'appid') || state.clock.now() >= record.expiresAt) reject(40030);
    state.activeAuthorization(record.appid);
    return issue(record.appid, record.openid, record.scope, token);
  });

  app.get('/sns/userinfo', async (request) => {
    const value = queryParam(request, 'access_token');
    if (!value) reject(41001);
    const token = state.snsTokens.get(value);
    if (!token) reject(40001);
    if (state.clock.now() >= token.expiresAt) reject(42001);
    if (queryParam(request, 'openid') !== token.openid) reject(40003);
    if (token.scope !== 'snsapi_userinfo') reject(48001, 'api unauthorized hint: scope snsapi_base cannot read userinfo');
    return {
      openid: token.openid,
      nickname: `微信用户${token.openid.slice(-4)}`,
      sex: 0,
      province: '',
      city: '',
      country: '',
      headimgurl: `https://thirdwx.qlogo.cn/mmopen/${token.openid}/132`,
      privilege: [],
      unionid: `o${createHash('sha256').update(`${state.account(token.appid).principalName}:${token.openid}`).digest('base64url').slice(0, 27)}`,
    };
  });
}
