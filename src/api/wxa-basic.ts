import { z } from 'zod';
import type { ApiCaller } from './client.js';

/** Basic info and set categories (spec 12.3; sets 3/30) and mini-program links (spec 12.4; set 88). */

export const AccountBasicInfoAnswer = z.looseObject({
  appid: z.string(),
  account_type: z.number(),
  principal_type: z.number().optional(),
  principal_name: z.string().optional(),
  realname_status: z.number().optional(),
  nickname: z.string().optional(),
  signature_info: z.looseObject({ signature: z.string().optional() }).optional(),
  head_image_info: z.looseObject({ head_image_url: z.string().optional() }).optional(),
});
export const SettingCategoriesAnswer = z.looseObject({
  categories: z.array(
    z.looseObject({ first: z.number(), first_name: z.string(), second: z.number(), second_name: z.string(), audit_status: z.number().optional() }),
  ),
  limit: z.number().optional(),
  quota: z.number().optional(),
  category_limit: z.number().optional(),
});
export const SchemeAnswer = z.looseObject({ openlink: z.string() });
export const UrlLinkAnswer = z.looseObject({ url_link: z.string() });
export type AccountBasicInfoAnswer = z.infer<typeof AccountBasicInfoAnswer>;

export interface GenerateSchemeRequest {
  jump_wxa?: { path?: string; query?: string; env_version?: 'release' | 'trial' | 'develop' };
  expire_type?: 0 | 1;
  expire_time?: number;
  expire_interval?: number;
  is_expire?: boolean;
}

export interface GenerateUrlLinkRequest {
  path?: string;
  query?: string;
  expire_type?: 0 | 1;
  expire_time?: number;
  expire_interval?: number;
  env_version?: 'release' | 'trial' | 'develop';
}

export function wxaBasicApi(c: ApiCaller) {
  return {
    getAccountBasicInfo: () =>
      c.call({ method: 'POST', path: '/cgi-bin/account/getaccountbasicinfo', body: {}, idempotent: true }, AccountBasicInfoAnswer),
    getSettingCategories: () => c.call({ method: 'GET', path: '/cgi-bin/wxopen/getcategory' }, SettingCategoriesAnswer),
    generateScheme: (r: GenerateSchemeRequest) => c.call({ method: 'POST', path: '/wxa/generatescheme', body: r }, SchemeAnswer),
    generateUrlLink: (r: GenerateUrlLinkRequest) => c.call({ method: 'POST', path: '/wxa/generate_urllink', body: r }, UrlLinkAnswer),
  };
}
export type WxaBasicApi = ReturnType<typeof wxaBasicApi>;
