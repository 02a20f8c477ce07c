import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SandboxContext } from '../context.js';
import { reject } from '../errors.js';
import { checkComponentAppid, jsonBody, queryParam, requireAuthorizerToken, requireComponentToken, stringField } from '../guards.js';
import { ACCESS_TOKEN_TTL_SECONDS, TICKET_TTL_MS, type Authorization } from '../state.js';
import { authorizerInfo, funcInfo } from './authorizer-info.js';

const AUTHORIZER_LIST_MAX = 500;
const OPTION_VALUES: Readonly<Record<string, readonly string[]>> = {
  location_report: ['0', '1', '2'],
  voice_recognize: ['0', '1'],
  customer_service: ['0', '1'],
};

/** Token and authorization APIs under /cgi-bin/component (spec 2.1, 3.1–3.7). */
export async function componentRoutes(app: FastifyInstance, ctx: SandboxContext): Promise<void> {
  const { state } = ctx;
  /** 41004 when the secret is missing, 40125 when it is wrong. */
  const checkSecret = (body: Record<string, unknown>, field: string): void => {
    const secret = stringField(body, field);
    if (secret === undefined) reject(41004);
    if (secret !== state.component.secret) reject(40125);
  };

  app.post('/cgi-bin/component/api_component_token', async (request) => {
    const body = jsonBody(request);
    checkComponentAppid(ctx, body.component_appid);
    checkSecret(body, 'component_appsecret');
    const ticket = stringField(body, 'component_verify_ticket');
    const pushedAt = ticket === undefined ? undefined : state.tickets.get(ticket);
    if (pushedAt === undefined) reject(61006);
    if (state.clock.now() >= pushedAt + TICKET_TTL_MS) reject(61005);
    ctx.quotas.consume(state.component.appid, '/cgi-bin/component/api_component_token');
    const token = state.issueToken('component', state.component.appid);
    return { component_access_token: token.value, expires_in: ACCESS_TOKEN_TTL_SECONDS };
  });

  app.post('/cgi-bin/component/api_start_push_ticket', async (request) => {
    const body = jsonBody(request);
    checkComponentAppid(ctx, body.component_appid);
    // The field is component_secret here, not component_appsecret (spec 2.1).
    checkSecret(body, 'component_secret');
    void ctx.scheduler.pushTicket();
    return { errcode: 0, errmsg: 'ok' };
  });

  app.post('/cgi-bin/component/api_create_preauthcode', async (request) => {
    requireComponentToken(ctx, request);
    const body = jsonBody(request);
    checkComponentAppid(ctx, body.component_appid);
    const { code, expiresIn } = state.mintPreAuthCode();
    return { pre_auth_code: code, expires_in: expiresIn };
  });

  app.post('/cgi-bin/component/api_query_auth', async (request) => {
    requireComponentToken(ctx, request);
    const body = jsonBody(request);
    checkComponentAppid(ctx, body.component_appid);
    const code = state.consumeAuthCode(stringField(body, 'authorization_code'));
    const auth = state.activeAuthorization(code.appid);
    const info: Record<string, unknown> = { authorizer_appid: code.appid };
    // The access token is only returned when some API permission was granted (spec 3.3).
    if (auth.funcIds.length > 0) {
      info.authorizer_access_token = state.issueToken('authorizer', code.appid).value;
      info.expires_in = ACCESS_TOKEN_TTL_SECONDS;
    }
    info.authorizer_refresh_token = auth.refreshToken;
    info.func_info = funcInfo(auth);
    return { authorization_info: info };
  });

  app.post('/cgi-bin/component/api_authorizer_token', async (request) => {
    requireComponentToken(ctx, request);
    const body = jsonBody(request);
    checkComponentAppid(ctx, body.component_appid);
    const appid = stringField(body, 'authorizer_appid');
    state.account(appid);
    const refreshToken = state.useRefreshToken(appid!, stringField(body, 'authorizer_refresh_token'));
    const token = state.issueToken('authorizer', appid!);
    return { authorizer_access_token: token.value, expires_in: ACCESS_TOKEN_TTL_SECONDS, authorizer_refresh_token: refreshToken };
  });

  app.post('/cgi-bin/component/api_get_authorizer_info', async (request) => {
    requireComponentToken(ctx, request);
    const body = jsonBody(request);
    checkComponentAppid(ctx, body.component_appid);
    const account = state.account(stringField(body, 'authorizer_appid'));
    const auth = state.activeAuthorization(account.appid);
    return authorizerInfo(ctx, request, account, auth);
  });

  app.post('/cgi-bin/component/api_get_authorizer_list', async (request) => {
    requireComponentToken(ctx, request);
    const body = jsonBody(request);
    checkComponentAppid(ctx, body.component_appid);
    const offset = body.offset ?? 0;
    const count = body.count ?? 100;
    if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) reject(47001);
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > AUTHORIZER_LIST_MAX) reject(47001);
    const active = [...state.authorizations.values()].filter((a) => !a.revoked).sort((a, b) => a.authTime - b.authTime);
    return {
      total_count: active.length,
      list: active.slice(offset, offset + count).map((a) => ({
        authorizer_appid: a.appid,
        refresh_token: a.refreshToken,
        auth_time: Math.floor(a.authTime / 1000),
      })),
    };
  });

  // Variant (a), classic: CAT plus component_appid and authorizer_appid in the body.
  app.post('/cgi-bin/component/api_get_authorizer_option', async (request) => {
    const body = jsonBody(request);
    const auth = classicOptionTarget(ctx, request, body);
    return getOption(auth, body);
  });
  app.post('/cgi-bin/component/api_set_authorizer_option', async (request) => {
    const body = jsonBody(request);
    const auth = classicOptionTarget(ctx, request, body);
    return setOption(auth, body);
  });

  // Variant (b), newer OpenApiDoc: access_token is the AAT, or the CAT with authorizer_appid in the body.
  app.post('/cgi-bin/component/get_authorizer_option', async (request) => {
    const body = jsonBody(request);
    return getOption(newerOptionTarget(ctx, request, body), body);
  });
  app.post('/cgi-bin/component/set_authorizer_option', async (request) => {
    const body = jsonBody(request);
    return setOption(newerOptionTarget(ctx, request, body), body);
  });
}

function classicOptionTarget(ctx: SandboxContext, request: FastifyRequest, body: Record<string, unknown>): Authorization {
  requireComponentToken(ctx, request);
  checkComponentAppid(ctx, body.component_appid);
  const account = ctx.state.account(stringField(body, 'authorizer_appid'));
  return ctx.state.activeAuthorization(account.appid);
}

function newerOptionTarget(ctx: SandboxContext, request: FastifyRequest, body: Record<string, unknown>): Authorization {
  const token = queryParam(request, 'access_token');
  if (token !== undefined && ctx.state.tokens.get(token)?.kind === 'authorizer') return requireAuthorizerToken(ctx, request).auth;
  requireComponentToken(ctx, request, ['access_token', 'component_access_token']);
  const account = ctx.state.account(stringField(body, 'authorizer_appid'));
  return ctx.state.activeAuthorization(account.appid);
}

function optionName(body: Record<string, unknown>): string {
  const name = stringField(body, 'option_name');
  if (name === undefined || OPTION_VALUES[name] === undefined) reject(61012);
  return name;
}

function getOption(auth: Authorization, body: Record<string, unknown>) {
  const name = optionName(body);
  return { errcode: 0, errmsg: 'ok', authorizer_appid: auth.appid, option_name: name, option_value: auth.options.get(name) ?? '0' };
}

function setOption(auth: Authorization, body: Record<string, unknown>) {
  const name = optionName(body);
  const raw = body.option_value;
  const value = typeof raw === 'number' ? String(raw) : raw;
  if (typeof value !== 'string' || !OPTION_VALUES[name]!.includes(value)) reject(61013);
  auth.options.set(name, value);
  return { errcode: 0, errmsg: 'ok' };
}
