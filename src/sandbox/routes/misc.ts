import { randomBytes, createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SandboxContext } from '../context.js';
import { reject } from '../errors.js';
import { checkComponentAppid, jsonBody, queryParam, requireAuthorizerToken, requireComponentToken, stringField } from '../guards.js';
import { JSAPI_TICKET_TTL_SECONDS, randomToken, type TokenRecord } from '../state.js';

const CUSTOM_MSG_TYPES = new Set(['text', 'image', 'voice', 'video', 'music', 'news', 'mpnews', 'msgmenu', 'wxcard', 'miniprogrampage', 'link']);

/** clear_quota and quota/get take either a CAT or an AAT in `access_token` (spec 3.8, 9.2). */
function eitherToken(ctx: SandboxContext, request: FastifyRequest): TokenRecord {
  const value = queryParam(request, 'access_token');
  const kind = value !== undefined && ctx.state.tokens.get(value)?.kind === 'authorizer' ? 'authorizer' : 'component';
  const token = ctx.state.checkToken(value, kind);
  if (kind === 'authorizer') ctx.state.activeAuthorization(token.appid);
  return token;
}

/** Login, JS-SDK ticket, customer-service send and quota management. */
export async function miscRoutes(app: FastifyInstance, ctx: SandboxContext): Promise<void> {
  const { state } = ctx;

  app.get('/sns/component/jscode2session', async (request) => {
    requireComponentToken(ctx, request, ['component_access_token']);
    checkComponentAppid(ctx, queryParam(request, 'component_appid'));
    if (queryParam(request, 'grant_type') !== 'authorization_code') reject(40002);
    const account = state.account(queryParam(request, 'appid'));
    // No permission set (spec 12.3): only the authorization itself (61003) and the account type.
    state.activeAuthorization(account.appid);
    if (account.type !== 'miniprogram') reject(40013);
    const code = state.consumeJsCode(queryParam(request, 'js_code'), account.appid);
    const unionid = `o${createHash('sha256').update(`${account.principalName}:${code.openid}`).digest('base64url').slice(0, 27)}`;
    return { openid: code.openid, session_key: code.sessionKey ?? randomBytes(16).toString('base64'), unionid };
  });

  app.get('/cgi-bin/ticket/getticket', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const type = queryParam(request, 'type');
    if (type !== 'jsapi' && type !== 'wx_card') reject(40097);
    const ticket = randomToken(`${type}_`, 60);
    state.jsapiTickets.set(ticket, { appid: account.appid, expiresAt: state.clock.now() + JSAPI_TICKET_TTL_SECONDS * 1000 });
    return { errcode: 0, errmsg: 'ok', ticket, expires_in: JSAPI_TICKET_TTL_SECONDS };
  });

  app.post('/cgi-bin/message/custom/send', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    const touser = stringField(body, 'touser');
    if (touser === undefined) reject(40003);
    const msgtype = stringField(body, 'msgtype');
    if (msgtype === undefined || !CUSTOM_MSG_TYPES.has(msgtype)) reject(40008);
    const content = body[msgtype];
    if (typeof content !== 'object' || content === null) reject(47001);
    if (msgtype === 'text' && typeof (content as Record<string, unknown>).content !== 'string') reject(47001);
    state.csWindows.consume(account.appid, touser);
    state.sentMessages.push({ appid: account.appid, touser, msgtype, body, at: state.clock.now() });
    return { errcode: 0, errmsg: 'ok' };
  });

  app.post('/cgi-bin/clear_quota', async (request) => {
    const token = eitherToken(ctx, request);
    const body = jsonBody(request);
    const appid = stringField(body, 'appid');
    if (appid === undefined) reject(41002);
    if (appid !== token.appid) reject(40013);
    ctx.quotas.clear(appid);
    return { errcode: 0, errmsg: 'ok' };
  });

  app.post('/cgi-bin/component/clear_quota/v2', async (request) => {
    const body = jsonBody(request);
    checkComponentAppid(ctx, body.component_appid);
    const secret = stringField(body, 'appsecret');
    if (secret === undefined) reject(41004);
    if (secret !== state.component.secret) reject(40125);
    const appid = stringField(body, 'appid');
    if (appid !== undefined && appid !== state.component.appid) state.activeAuthorization(state.account(appid).appid);
    ctx.quotas.clear(appid ?? state.component.appid);
    return { errcode: 0, errmsg: 'ok' };
  });

  app.post('/cgi-bin/component/clear_quota', async (request) => {
    state.checkToken(queryParam(request, 'component_access_token') ?? queryParam(request, 'access_token'), 'component');
    const body = jsonBody(request);
    checkComponentAppid(ctx, body.component_appid);
    ctx.quotas.clear(state.component.appid);
    return { errcode: 0, errmsg: 'ok' };
  });

  app.post('/cgi-bin/openapi/quota/get', async (request) => {
    const token = eitherToken(ctx, request);
    const body = jsonBody(request);
    const path = stringField(body, 'cgi_path');
    if (path === undefined) reject(47001);
    if (path.startsWith('/sns/')) reject(76022);
    const limit = ctx.quotas.limit(path);
    const used = ctx.quotas.usage(token.appid, path);
    return {
      errcode: 0,
      errmsg: 'ok',
      quota: { daily_limit: limit, used, remain: Math.max(limit - used, 0) },
      rate_limit: { call_count: 0, refresh_second: 60 },
      component_rate_limit: { call_count: 0, refresh_second: 60 },
    };
  });
}
