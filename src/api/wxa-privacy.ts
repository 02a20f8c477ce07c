import { z } from 'zod';
import { OkAnswer, type ApiCaller } from './client.js';

/** Privacy guideline (spec 15, 12.3; permission set 18). */

export interface OwnerSetting {
  notice_method: string;
  contact_phone?: string;
  contact_email?: string;
  contact_qq?: string;
  contact_weixin?: string;
  ext_file_media_id?: string;
  store_expire_timestamp?: string;
}

export interface SetPrivacyRequest {
  /** 2 (default): the dev version, with setting_list; 1: the live version, owner_setting only. */
  privacy_ver?: 1 | 2;
  owner_setting: OwnerSetting;
  setting_list?: Array<{ privacy_key: string; privacy_text: string }>;
  sdk_privacy_info_list?: Array<Record<string, unknown>>;
}

export const PrivacySettingAnswer = z.looseObject({
  code_exist: z.number().optional(),
  privacy_list: z.array(z.string()).optional(),
  setting_list: z.array(z.looseObject({ privacy_key: z.string(), privacy_text: z.string() })).optional(),
  update_time: z.number().optional(),
  owner_setting: z.looseObject({ notice_method: z.string().optional() }).optional(),
});
export const CodePrivacyAnswer = z.looseObject({ without_auth_list: z.array(z.string()), without_conf_list: z.array(z.string()) });
export type PrivacySettingAnswer = z.infer<typeof PrivacySettingAnswer>;

export function wxaPrivacyApi(c: ApiCaller) {
  return {
    getPrivacySetting: (privacyVer: 1 | 2 = 2) =>
      c.call({ method: 'POST', path: '/cgi-bin/component/getprivacysetting', body: { privacy_ver: privacyVer }, idempotent: true }, PrivacySettingAnswer),
    setPrivacySetting: (r: SetPrivacyRequest) => {
      const body = r.privacy_ver === 1 ? { privacy_ver: 1, owner_setting: r.owner_setting } : { privacy_ver: 2, ...r };
      return c.call({ method: 'POST', path: '/cgi-bin/component/setprivacysetting', body }, OkAnswer);
    },
    getCodePrivacyInfo: () => c.call({ method: 'GET', path: '/wxa/security/get_code_privacy_info' }, CodePrivacyAnswer),
  };
}
export type WxaPrivacyApi = ReturnType<typeof wxaPrivacyApi>;
