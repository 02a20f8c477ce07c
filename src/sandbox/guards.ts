import type { FastifyRequest } from 'fastify';
import type { SandboxAccount } from './accounts.js';
import type { SandboxContext } from './context.js';
import { reject } from './errors.js';
import { checkPermission } from './permissions.js';
import type { Authorization, TokenRecord } from './state.js';

export function routePath(request: FastifyRequest): string {
  return request.routeOptions.url ?? request.url.split('?')[0]!;
}

export function queryParam(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : Array.isArray(value) && typeof value[0] === 'string' ? value[0] : undefined;
}

/** The JSON body of a POST: 44002 when empty (as WeChat answers a bodiless release), 47001 when not a JSON object. */
export function jsonBody(request: FastifyRequest): Record<string, unknown> {
  const raw = typeof request.body === 'string' ? request.body : '';
  if (raw.trim() === '') reject(44002);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    reject(47001);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) reject(47001);
  return value as Record<string, unknown>;
}

export function stringField(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** `component_appid` in a body or query must name this sandbox's component: 41002 missing, 61011 otherwise. */
export function checkComponentAppid(ctx: SandboxContext, value: unknown): void {
  if (value === undefined || value === '') reject(41002);
  if (value !== ctx.state.component.appid) reject(61011);
}

/**
 * A call made with the component_access_token: checks the token in the first present query param of
 * `params` and charges the component's daily quota for the path.
 */
export function requireComponentToken(
  ctx: SandboxContext,
  request: FastifyRequest,
  params: readonly string[] = ['component_access_token', 'access_token'],
): TokenRecord {
  const value = params.map((p) => queryParam(request, p)).find((v) => v !== undefined);
  const record = ctx.state.checkToken(value, 'component');
  ctx.quotas.consume(record.appid, routePath(request));
  return record;
}

export interface AuthorizerCall {
  token: TokenRecord;
  auth: Authorization;
  account: SandboxAccount;
}

/**
 * A call made with an authorizer_access_token: valid token (40001/40014/41001/42001), live authorization
 * (61003), the API existing for the account type (48001) and its permission set granted (61007, spec
 * 12.1), then the account's daily quota (45009).
 */
export function requireAuthorizerToken(ctx: SandboxContext, request: FastifyRequest): AuthorizerCall {
  const path = routePath(request);
  const token = ctx.state.checkToken(queryParam(request, 'access_token'), 'authorizer');
  const auth = ctx.state.activeAuthorization(token.appid);
  const account = ctx.state.account(token.appid);
  const permission = checkPermission(path, account.type, auth.funcIds);
  if (permission === 'account_lacks_api') reject(48001);
  if (permission === 'set_not_granted') reject(61007);
  ctx.quotas.consume(token.appid, path);
  return { token, auth, account };
}

/** The appid a call is about, for counters and per-account faults; never throws. */
export function callAppid(ctx: SandboxContext, request: FastifyRequest): string | undefined {
  const q = request.query as Record<string, unknown>;
  let body: Record<string, unknown> = {};
  if (typeof request.body === 'string' && request.body.startsWith('{')) {
    try {
      body = JSON.parse(request.body) as Record<string, unknown>;
    } catch {
      body = {};
    }
  }
  const tokenValue = [q.access_token, q.component_access_token].find((v): v is string => typeof v === 'string');
  const token = tokenValue === undefined ? undefined : ctx.state.tokens.get(tokenValue);
  if (token?.kind === 'authorizer') return token.appid;
  for (const v of [body.authorizer_appid, q.appid, body.appid, body.component_appid, q.component_appid]) {
    if (typeof v === 'string' && v !== '') return v;
  }
  return token?.appid;
}
