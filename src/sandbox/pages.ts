import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SandboxAccount } from './accounts.js';
import { authorizeAccount } from './authorize.js';
import type { SandboxContext } from './context.js';
import { WxReject } from './errors.js';
import { FUNC_SETS } from './permissions.js';

/** PC (mp host), current mobile (open host) and legacy mobile (mp host) authorization pages (spec 4). */
export const AUTH_PAGE_PATHS = ['/cgi-bin/componentloginpage', '/wxaopen/safe/bindcomponent', '/safe/bindcomponent'] as const;

interface PageParams {
  component_appid?: string;
  pre_auth_code?: string;
  redirect_uri?: string;
  auth_type?: string;
  biz_appid?: string;
  category_list?: string;
  action?: string;
}
const PARAM_NAMES = ['component_appid', 'pre_auth_code', 'redirect_uri', 'auth_type', 'biz_appid', 'category_list', 'action'] as const;

function esc(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Accounts the page lists: auth_type 1 official accounts, 2 mini programs, otherwise both; biz_appid narrows to one. */
export function eligibleAccounts(accounts: Iterable<SandboxAccount>, authType: string | undefined, bizAppid: string | undefined): SandboxAccount[] {
  const type = authType === '1' ? 'official' : authType === '2' ? 'miniprogram' : undefined;
  return [...accounts].filter((a) => (type === undefined || a.type === type) && (!bizAppid || a.appid === bizAppid));
}

function problem(ctx: SandboxContext, path: string, p: PageParams): string | undefined {
  if (path !== '/cgi-bin/componentloginpage' && p.action !== 'bindcomponent') return 'action 参数错误 (action must be bindcomponent)';
  if (p.component_appid !== ctx.state.component.appid) return '第三方平台 appid 无效 (unknown component_appid)';
  const codeProblem = ctx.state.preAuthCodeProblem(p.pre_auth_code);
  if (codeProblem) return codeProblem;
  if (!p.redirect_uri || !/^https?:\/\/[^\s/]+/.test(p.redirect_uri)) return 'redirect_uri 无效 (redirect_uri must be an http(s) URL)';
  if (p.biz_appid && !ctx.state.accounts.has(p.biz_appid)) return 'biz_appid 无效 (no such account)';
  return undefined;
}

/** The sentence WeChat shows when the entry, callback and registered domains disagree (spec 14.1). */
export const ENTRY_DOMAIN_ERROR = '请确认授权入口页所在域名,与授权后回调页所在域名相同,并且,此两者都必须与申请第三方平台时填写的授权发起页域名相同。授权入口页所在域名:';

function hostOf(url: string | undefined): string | undefined {
  if (url === undefined || !URL.canParse(url)) return undefined;
  return new URL(url).hostname.replace(/^\[|\]$/g, '');
}

/**
 * The PC page opens only from a page on the registered 授权发起页域名 (the Referer) and calls back to
 * the same domain (spec 14). The mobile link is not checked: no source says WeChat checks it.
 */
function entryDomainProblem(ctx: SandboxContext, path: string, request: FastifyRequest, p: PageParams): string | undefined {
  const platform = ctx.state.platform;
  if (!ctx.state.settings.entryDomainCheck || !platform || path !== '/cgi-bin/componentloginpage') return undefined;
  const registered = platform.entryDomain ?? hostOf(platform.componentPushUrl);
  const referer = request.headers.referer;
  const entry = hostOf(typeof referer === 'string' ? referer : undefined);
  if (entry === undefined || entry !== registered) return `${ENTRY_DOMAIN_ERROR}${entry ?? '空'}`;
  const callback = hostOf(p.redirect_uri);
  if (callback !== registered) return `${ENTRY_DOMAIN_ERROR}${entry} (授权后回调页所在域名: ${callback ?? '空'})`;
  return undefined;
}

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><link rel="icon" href="/favicon.ico"><style>
body{font-family:-apple-system,"PingFang SC","Helvetica Neue",sans-serif;background:#f2f3f5;margin:0;color:#1f2329}
main{max-width:560px;margin:40px auto;background:#fff;border-radius:12px;padding:28px 32px;box-shadow:0 2px 12px rgba(0,0,0,.06)}
h1{font-size:20px;margin:0 0 4px}p.sub{color:#8a8f99;margin:0 0 20px;font-size:14px}
fieldset{border:1px solid #e5e6eb;border-radius:8px;margin:0 0 16px;padding:12px 16px}legend{font-weight:600;font-size:14px;padding:0 6px}
label{display:flex;align-items:center;gap:10px;padding:6px 0;font-size:14px}small{color:#8a8f99}
button{width:100%;background:#07c160;color:#fff;border:0;border-radius:8px;padding:12px;font-size:16px;cursor:pointer}
.error{color:#fa5151}.empty{color:#8a8f99;font-size:14px}</style></head><body><main>${body}</main></body></html>`;
}

function errorPage(message: string): string {
  return layout('授权失败', `<h1>授权失败</h1><p class="error" id="error">${esc(message)}</p>`);
}

function renderPage(ctx: SandboxContext, path: string, p: PageParams): string {
  const accounts = eligibleAccounts(ctx.state.accounts.values(), p.auth_type, p.biz_appid);
  const requested = p.category_list ? new Set(p.category_list.split('|').map(Number)) : undefined;
  const hidden = PARAM_NAMES.filter((n) => p[n] !== undefined)
    .map((n) => `<input type="hidden" name="${n}" value="${esc(p[n]!)}">`)
    .join('');
  const accountRows = accounts
    .map(
      (a, i) =>
        `<label><input type="radio" name="authorizer_appid" value="${esc(a.appid)}"${i === 0 ? ' checked' : ''}>` +
        `${esc(a.nickName || a.appid)} <small>${a.type === 'official' ? '公众号' : '小程序'} · ${esc(a.appid)}</small></label>`,
    )
    .join('');
  const types = [...new Set(accounts.map((a) => a.type))];
  const funcGroups = types
    .map((type) => {
      const rows = FUNC_SETS[type]
        .map((f) => {
          const checked = requested === undefined || requested.has(f.id) ? ' checked' : '';
          return `<label><input type="checkbox" name="func" value="${f.id}"${checked}>${esc(f.name)} <small>(${f.id})</small></label>`;
        })
        .join('');
      return `<fieldset><legend>${type === 'official' ? '公众号权限集' : '小程序权限集'}</legend>${rows}</fieldset>`;
    })
    .join('');
  const accountBlock = accounts.length === 0 ? '<p class="empty">没有可授权的帐号 (no eligible account)</p>' : accountRows;
  return layout(
    '授权给第三方平台',
    `<h1>授权给第三方平台</h1><p class="sub">${esc(ctx.state.component.appid)} 申请获得以下权限 · 模拟环境</p>
<form method="post" action="${esc(path)}">${hidden}<fieldset><legend>选择授权帐号</legend>${accountBlock}</fieldset>${funcGroups}
<button type="submit"${accounts.length === 0 ? ' disabled' : ''}>授权</button></form>`,
  );
}

function formParams(request: FastifyRequest): URLSearchParams {
  return new URLSearchParams(typeof request.body === 'string' ? request.body : '');
}

/**
 * The page an authorizer's admin sees. GET shows accounts and permission sets; the confirm button
 * POSTs the form back, which consumes the pre_auth_code and redirects to `redirect_uri` with
 * `auth_code` and `expires_in` appended textually, as WeChat does (spec 4.3, 4.4).
 */
export async function authPageRoutes(app: FastifyInstance, ctx: SandboxContext): Promise<void> {
  for (const path of AUTH_PAGE_PATHS) {
    app.get(path, async (request, reply) => {
      const q = request.query as Record<string, unknown>;
      const p: PageParams = {};
      for (const n of PARAM_NAMES) if (typeof q[n] === 'string') p[n] = q[n];
      const why = problem(ctx, path, p) ?? entryDomainProblem(ctx, path, request, p);
      if (why) return reply.code(400).type('text/html; charset=utf-8').send(errorPage(why));
      return reply.type('text/html; charset=utf-8').send(renderPage(ctx, path, p));
    });

    app.post(path, async (request, reply): Promise<FastifyReply> => {
      const form = formParams(request);
      const p: PageParams = {};
      for (const n of PARAM_NAMES) {
        const v = form.get(n);
        if (v !== null) p[n] = v;
      }
      const fail = (why: string) => reply.code(400).type('text/html; charset=utf-8').send(errorPage(why));
      const why = problem(ctx, path, p);
      if (why) return fail(why);
      const appid = form.get('authorizer_appid') ?? '';
      if (!eligibleAccounts(ctx.state.accounts.values(), p.auth_type, p.biz_appid).some((a) => a.appid === appid)) {
        return fail('请选择一个可授权的帐号 (choose an eligible account)');
      }
      const funcs = form.getAll('func').map(Number).filter(Number.isInteger);
      try {
        const result = authorizeAccount(ctx, appid, funcs, p.pre_auth_code);
        const redirect = p.redirect_uri!;
        const location = `${redirect}${redirect.includes('?') ? '&' : '?'}auth_code=${encodeURIComponent(result.authCode)}&expires_in=${result.expiresIn}`;
        return reply.redirect(location, 302);
      } catch (err) {
        if (err instanceof WxReject) return fail(err.errmsg ?? '请至少选择一个权限集 (choose at least one permission set)');
        throw err;
      }
    });
  }
}
