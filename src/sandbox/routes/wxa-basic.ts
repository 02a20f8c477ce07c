import type { FastifyInstance } from 'fastify';
import { codeFor } from '../code-state.js';
import type { SandboxContext } from '../context.js';
import { reject } from '../errors.js';
import { jsonBody, requireAuthorizerToken } from '../guards.js';
import { randomToken } from '../state.js';
import { avatarUrl } from './avatar.js';

const MAX_EXPIRE_INTERVAL_DAYS = 30;

/** Basic info, set categories (spec 12.3) and mini-program links (spec 12.4). */
export async function basicRoutes(app: FastifyInstance, ctx: SandboxContext): Promise<void> {
  const { state } = ctx;

  app.post('/cgi-bin/account/getaccountbasicinfo', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    return {
      errcode: 0,
      errmsg: 'ok',
      appid: account.appid,
      account_type: account.type === 'miniprogram' ? 3 : account.serviceTypeId === 2 ? 2 : 1,
      principal_type: 1,
      principal_name: account.principalName,
      realname_status: 1,
      nickname: account.nickName,
      wx_verify_info: { qualification_verify: (account.verifyTypeId ?? 0) === 0, naming_verify: (account.verifyTypeId ?? 0) === 0 },
      signature_info: { signature: account.signature ?? '', modify_used_count: 0, modify_quota: 5 },
      head_image_info: { head_image_url: avatarUrl(ctx, request, account), modify_used_count: 0, modify_quota: 5 },
      nickname_info: { nickname: account.nickName, modify_used_count: 0, modify_quota: 2 },
      registered_country: 1,
    };
  });

  app.get('/cgi-bin/wxopen/getcategory', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    return {
      errcode: 0,
      errmsg: 'ok',
      categories: (account.categories ?? []).map((c) => ({ first: c.first_id, first_name: c.first_class, second: c.second_id, second_name: c.second_class, audit_status: 3, audit_reason: '' })),
      limit: 5,
      quota: 5 - (account.categories?.length ?? 0),
      category_limit: 5,
    };
  });

  const checkLink = (appid: string, body: Record<string, unknown>) => {
    if (!codeFor(state, appid).online) reject(85079);
    const interval = body.expire_interval;
    if (interval !== undefined && (typeof interval !== 'number' || interval < 1 || interval > MAX_EXPIRE_INTERVAL_DAYS)) reject(40097);
  };

  app.post('/wxa/generatescheme', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    checkLink(account.appid, body);
    return { errcode: 0, errmsg: 'ok', openlink: `weixin://dl/business/?t=${randomToken('', 9)}` };
  });

  app.post('/wxa/generate_urllink', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    checkLink(account.appid, body);
    return { errcode: 0, errmsg: 'ok', url_link: `https://wxaurl.cn/${randomToken('', 9)}` };
  });
}
