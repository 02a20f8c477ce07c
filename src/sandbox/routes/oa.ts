import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { SandboxContext } from '../context.js';
import { reject } from '../errors.js';
import { jsonBody, queryParam, requireAuthorizerToken, stringField } from '../guards.js';
import { randomToken } from '../state.js';

const OPENID = /^o[\w-]{27}$/;
const MENU_TYPES = new Set([
  'click', 'view', 'scancode_push', 'scancode_waitmsg', 'pic_sysphoto', 'pic_photo_or_album', 'pic_weixin',
  'location_select', 'media_id', 'article_id', 'article_view_limited', 'miniprogram',
]);
const QR_ACTIONS = new Set(['QR_SCENE', 'QR_STR_SCENE', 'QR_LIMIT_SCENE', 'QR_LIMIT_STR_SCENE']);
const QR_MAX_EXPIRE_SECONDS = 2_592_000;
const LONG_DATA_MAX_BYTES = 4096;

/** The template id every sandbox official account has in its "my templates" list. */
export function sandboxTemplateId(appid: string): string {
  return `tpl_${createHash('sha256').update(appid).digest('base64url').slice(0, 39)}`;
}

function checkButtons(buttons: unknown, depth: number): void {
  const max = depth === 0 ? 3 : 5;
  if (!Array.isArray(buttons) || buttons.length < 1 || buttons.length > max) reject(40016);
  for (const b of buttons as Array<Record<string, unknown>>) {
    if (typeof b !== 'object' || b === null) reject(47001);
    const name = b.name;
    if (typeof name !== 'string' || name === '' || Buffer.byteLength(name) > (depth === 0 ? 16 : 60)) reject(40018);
    if (b.sub_button !== undefined && depth === 0) {
      checkButtons(b.sub_button, 1);
      continue;
    }
    if (typeof b.type !== 'string' || !MENU_TYPES.has(b.type)) reject(40017);
  }
}

/** Official-account APIs (spec 12.5): template messages, menus, user info, QR codes, short keys. */
export async function officialAccountRoutes(app: FastifyInstance, ctx: SandboxContext): Promise<void> {
  const { state } = ctx;

  app.post('/cgi-bin/message/template/send', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    const touser = stringField(body, 'touser');
    if (touser === undefined || !OPENID.test(touser)) reject(40003);
    if (body.template_id !== sandboxTemplateId(account.appid)) reject(40037);
    if (typeof body.data !== 'object' || body.data === null) reject(47001);
    state.sentMessages.push({ appid: account.appid, touser, msgtype: 'template', body, at: state.clock.now() });
    return { errcode: 0, errmsg: 'ok', msgid: 200_000_000 + state.sentMessages.length };
  });

  app.post('/cgi-bin/menu/create', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    checkButtons(body.button, 0);
    state.menus.set(account.appid, body.button as unknown[]);
    return { errcode: 0, errmsg: 'ok' };
  });

  app.get('/cgi-bin/menu/get', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const button = state.menus.get(account.appid);
    if (!button) reject(46003);
    return { menu: { button } };
  });

  app.get('/cgi-bin/menu/delete', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    state.menus.delete(account.appid);
    return { errcode: 0, errmsg: 'ok' };
  });

  const userInfo = (appid: string, openid: unknown) => {
    if (typeof openid !== 'string' || !OPENID.test(openid)) reject(40003);
    return {
      subscribe: 1,
      openid,
      language: 'zh_CN',
      subscribe_time: 1_700_000_000,
      unionid: `o${createHash('sha256').update(`${state.account(appid).principalName}:${openid}`).digest('base64url').slice(0, 27)}`,
      remark: '',
      groupid: 0,
      tagid_list: [],
      subscribe_scene: 'ADD_SCENE_QR_CODE',
      qr_scene: 0,
      qr_scene_str: '',
    };
  };

  app.get('/cgi-bin/user/info', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    return userInfo(account.appid, queryParam(request, 'openid'));
  });

  app.post('/cgi-bin/user/info/batchget', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const list = jsonBody(request).user_list;
    if (!Array.isArray(list) || list.length < 1 || list.length > 100) reject(47001);
    return { user_info_list: (list as Array<{ openid?: unknown }>).map((u) => userInfo(account.appid, u?.openid)) };
  });

  app.post('/cgi-bin/qrcode/create', async (request) => {
    requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    const action = stringField(body, 'action_name');
    if (action === undefined || !QR_ACTIONS.has(action)) reject(40097);
    const scene = (body.action_info as { scene?: Record<string, unknown> } | undefined)?.scene;
    const byString = action.includes('STR');
    if (!scene || (byString ? typeof scene.scene_str !== 'string' || scene.scene_str === '' : !Number.isInteger(scene.scene_id))) reject(40097);
    const ticket = randomToken('gQ', 45);
    const answer: Record<string, unknown> = { ticket, url: `http://weixin.qq.com/q/${ticket.slice(2, 24)}` };
    if (!action.startsWith('QR_LIMIT')) {
      const expire = body.expire_seconds ?? 60;
      if (typeof expire !== 'number' || expire < 1) reject(40097);
      answer.expire_seconds = Math.min(expire, QR_MAX_EXPIRE_SECONDS);
    }
    return answer;
  });

  app.post('/cgi-bin/shorten/gen', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    const longData = stringField(body, 'long_data');
    if (longData === undefined) reject(47001);
    if (Buffer.byteLength(longData) > LONG_DATA_MAX_BYTES) reject(9410010);
    const expire = body.expire_seconds ?? QR_MAX_EXPIRE_SECONDS;
    if (typeof expire !== 'number' || expire < 1) reject(47001);
    if (expire > QR_MAX_EXPIRE_SECONDS) reject(9410011);
    const shortKey = randomToken('', 12).replace(/[-_]/g, 'x').slice(0, 15);
    const now = state.clock.now();
    state.shortKeys.set(shortKey, { appid: account.appid, longData, createdAt: now, expiresAt: now + expire * 1000 });
    return { errcode: 0, errmsg: 'ok', short_key: shortKey };
  });

  app.post('/cgi-bin/shorten/fetch', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const key = stringField(jsonBody(request), 'short_key');
    const entry = key === undefined ? undefined : state.shortKeys.get(key);
    const now = state.clock.now();
    if (!entry || entry.appid !== account.appid || now >= entry.expiresAt) reject(9410012);
    return {
      errcode: 0,
      errmsg: 'ok',
      long_data: entry.longData,
      create_time: Math.floor(entry.createdAt / 1000),
      expire_seconds: Math.floor((entry.expiresAt - now) / 1000),
    };
  });
}
