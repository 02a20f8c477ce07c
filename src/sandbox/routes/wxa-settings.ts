import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { codeFor, DOMAIN_KINDS, type DomainKind } from '../code-state.js';
import type { SandboxContext } from '../context.js';
import { reject } from '../errors.js';
import { jsonBody, requireAuthorizerToken, stringField } from '../guards.js';

const DOMAIN_LIMIT = 1000;
const TESTER_LIMIT = 60;
const WECHAT_ID = /^[a-zA-Z][-_a-zA-Z0-9]{5,19}$/;

function hostOf(domain: string): string {
  try {
    return new URL(domain).host.toLowerCase();
  } catch {
    return reject(47001, `data format error hint: ${domain} is not a URL such as https://example.com`);
  }
}

/** Server domains (spec 5.3) and testers (spec 5.4). */
export async function settingsRoutes(app: FastifyInstance, ctx: SandboxContext): Promise<void> {
  const { state } = ctx;

  app.post('/wxa/modify_domain', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    const domains = codeFor(state, account.appid).domains;
    const action = body.action;
    if (action !== 'get' && action !== 'add' && action !== 'delete' && action !== 'set') reject(47001);
    if (action !== 'get') {
      const requested: Partial<Record<DomainKind, string[]>> = {};
      for (const kind of DOMAIN_KINDS) {
        const list = body[kind];
        if (list === undefined) continue;
        if (!Array.isArray(list) || list.some((d) => typeof d !== 'string')) reject(47001);
        requested[kind] = list as string[];
      }
      const allowed = new Set(state.settings.platformDomains.map(hostOf));
      if (action !== 'delete') {
        for (const list of Object.values(requested)) for (const d of list) if (!allowed.has(hostOf(d))) reject(85018);
      }
      const next = { ...domains };
      for (const kind of DOMAIN_KINDS) {
        const list = requested[kind];
        if (action === 'set') next[kind] = [...new Set(list ?? [])];
        else if (list && action === 'add') next[kind] = [...new Set([...domains[kind], ...list])];
        else if (list && action === 'delete') next[kind] = domains[kind].filter((d) => !list.includes(d));
      }
      const total = DOMAIN_KINDS.reduce((n, k) => n + next[k].length, 0);
      if (total > DOMAIN_LIMIT) reject(85016);
      if (action === 'add' && DOMAIN_KINDS.every((k) => next[k].length === domains[k].length)) reject(85017);
      Object.assign(domains, next);
    }
    return { errcode: 0, errmsg: 'ok', ...domains };
  });

  // Spec 5.3/12.3: https only, hosts within the platform's (business) domains, at most 100.
  app.post('/wxa/setwebviewdomain', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    const code = codeFor(state, account.appid);
    const current = (code.webviewDomains ??= []);
    const action = body.action ?? 'add';
    if (action === 'get') return { errcode: 0, errmsg: 'ok', webviewdomain: current };
    if (action !== 'add' && action !== 'delete' && action !== 'set') reject(47001);
    const platformHosts = state.settings.platformDomains.filter((d) => d.startsWith('https://')).map(hostOf);
    if (platformHosts.length === 0) reject(89020);
    const list = body.webviewdomain ?? (action === 'add' ? state.settings.platformDomains.filter((d) => d.startsWith('https://')) : []);
    if (!Array.isArray(list) || list.some((d) => typeof d !== 'string')) reject(47001);
    const requested = list as string[];
    if (action !== 'delete') {
      for (const d of requested) {
        if (!d.startsWith('https://')) reject(89021);
        const host = hostOf(d);
        if (!platformHosts.some((p) => host === p || host.endsWith(`.${p}`))) reject(89021);
      }
    }
    const next =
      action === 'set' ? [...new Set(requested)] : action === 'add' ? [...new Set([...current, ...requested])] : current.filter((d) => !requested.includes(d));
    if (next.length > 100) reject(89029);
    if (next.length === current.length && next.every((d, i) => d === current[i])) reject(89019);
    code.webviewDomains = next;
    return { errcode: 0, errmsg: 'ok', webviewdomain: next };
  });

  app.post('/wxa/bind_tester', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    const wechatid = stringField(body, 'wechatid');
    if (wechatid === undefined || !WECHAT_ID.test(wechatid)) reject(85001);
    const testers = codeFor(state, account.appid).testers;
    const userstr = createHash('sha256').update(`${account.appid}:${wechatid}`).digest('hex');
    if (testers.has(userstr)) reject(85004);
    if (testers.size >= TESTER_LIMIT) reject(85002);
    testers.set(userstr, wechatid);
    return { errcode: 0, errmsg: 'ok', userstr };
  });

  app.post('/wxa/unbind_tester', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    const testers = codeFor(state, account.appid).testers;
    const wechatid = stringField(body, 'wechatid');
    const userstr = stringField(body, 'userstr');
    if (wechatid === undefined && userstr === undefined) reject(47001);
    for (const [key, id] of testers) if (key === userstr || id === wechatid) testers.delete(key);
    return { errcode: 0, errmsg: 'ok' };
  });

  app.post('/wxa/memberauth', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    if (body.action !== 'get_experiencer') reject(47001);
    const testers = codeFor(state, account.appid).testers;
    return { errcode: 0, errmsg: 'ok', members: [...testers.keys()].map((userstr) => ({ userstr })) };
  });
}
