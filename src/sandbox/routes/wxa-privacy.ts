import type { FastifyInstance } from 'fastify';
import { codeFor } from '../code-state.js';
import type { SandboxContext } from '../context.js';
import { reject } from '../errors.js';
import { jsonBody, requireAuthorizerToken } from '../guards.js';
import type { PrivacySetting } from '../state.js';

/** What the sandbox's privacy detection "finds" in every committed package (spec 15.1 step 3). */
const DETECTED_PRIVACY_KEYS = ['UserInfo', 'Location'];
const CONTACTS = ['contact_phone', 'contact_email', 'contact_qq', 'contact_weixin'];

/** Privacy guideline APIs (spec 15, 12.3), all in set 18. */
export async function privacyRoutes(app: FastifyInstance, ctx: SandboxContext): Promise<void> {
  const { state } = ctx;
  const privacyOf = (appid: string) => {
    let p = state.privacy.get(appid);
    if (!p) state.privacy.set(appid, (p = {}));
    return p;
  };

  app.post('/cgi-bin/component/getprivacysetting', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    const ver = body.privacy_ver ?? 2;
    if (ver !== 1 && ver !== 2) reject(86071);
    const code = codeFor(state, account.appid);
    const setting = ver === 1 ? privacyOf(account.appid).live : privacyOf(account.appid).dev;
    const detected = code.committed ? DETECTED_PRIVACY_KEYS : [];
    const declared = new Map((setting?.settingList ?? []).map((s) => [s.privacy_key, s.privacy_text]));
    const keys = [...new Set([...detected, ...declared.keys()])];
    return {
      errcode: 0,
      errmsg: 'ok',
      code_exist: code.committed ? 1 : 0,
      privacy_list: keys,
      setting_list: keys.map((k) => ({ privacy_key: k, privacy_text: declared.get(k) ?? '', privacy_label: k })),
      update_time: setting ? Math.floor(setting.updateTime / 1000) : 0,
      owner_setting: setting?.ownerSetting ?? { notice_method: '', contact_email: '', contact_phone: '', contact_qq: '', contact_weixin: '', ext_file_media_id: '', store_expire_timestamp: '' },
      privacy_desc: { privacy_desc_list: DETECTED_PRIVACY_KEYS.map((k) => ({ privacy_key: k, privacy_desc: k })) },
    };
  });

  app.post('/cgi-bin/component/setprivacysetting', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    const ver = body.privacy_ver ?? 2;
    if (ver !== 1 && ver !== 2) reject(86071);
    const owner = body.owner_setting;
    // A JSON string instead of an object is 47001 (spec 15.2).
    if (typeof owner !== 'object' || owner === null || Array.isArray(owner)) reject(47001);
    const o = owner as Record<string, unknown>;
    if (typeof o.notice_method !== 'string' || o.notice_method === '') reject(86069);
    if (!CONTACTS.some((c) => typeof o[c] === 'string' && o[c] !== '')) reject(86069);
    const p = privacyOf(account.appid);
    const now = state.clock.now();
    if (ver === 1) {
      if (body.setting_list !== undefined) reject(47001, 'data format error hint: setting_list must not be sent with privacy_ver 1');
      if (!p.live) reject(86074);
      p.live = { ...p.live, ownerSetting: o, updateTime: now };
      return { errcode: 0, errmsg: 'ok' };
    }
    const list = body.setting_list;
    if (!Array.isArray(list) || list.some((s) => typeof s?.privacy_key !== 'string' || typeof s?.privacy_text !== 'string')) reject(47001);
    const setting: PrivacySetting = { ownerSetting: o, settingList: list as PrivacySetting['settingList'], updateTime: now };
    p.dev = setting;
    return { errcode: 0, errmsg: 'ok' };
  });

  app.get('/wxa/security/get_code_privacy_info', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const committed = codeFor(state, account.appid).committed;
    if (!committed) reject(86001);
    if (state.clock.now() < committed.committedAt + state.settings.privacyCheckSeconds * 1000) reject(61039);
    const declared = new Set((privacyOf(account.appid).dev?.settingList ?? []).map((s) => s.privacy_key));
    return { errcode: 0, errmsg: 'ok', without_auth_list: [], without_conf_list: DETECTED_PRIVACY_KEYS.filter((k) => !declared.has(k)) };
  });
}

/** The first release copies the dev guideline to live (spec 15.1, community answer). */
export function publishPrivacy(ctx: SandboxContext, appid: string): void {
  const p = ctx.state.privacy.get(appid);
  if (p?.dev && !p.live) p.live = { ...p.dev };
}
