import { z } from 'zod';
import type { ApiCaller } from './client.js';

/** User info (spec 12.5; set 2). */

export const UserInfo = z.looseObject({
  subscribe: z.number(),
  openid: z.string(),
  subscribe_time: z.number().optional(),
  unionid: z.string().optional(),
  remark: z.string().optional(),
  groupid: z.number().optional(),
  tagid_list: z.array(z.number()).optional(),
  subscribe_scene: z.string().optional(),
  qr_scene: z.number().optional(),
  qr_scene_str: z.string().optional(),
});
export const UserInfoBatchAnswer = z.looseObject({ user_info_list: z.array(UserInfo) });
export type UserInfo = z.infer<typeof UserInfo>;

export function oaUserApi(c: ApiCaller) {
  return {
    info: (openid: string, lang: 'zh_CN' | 'zh_TW' | 'en' = 'zh_CN') => c.call({ method: 'GET', path: '/cgi-bin/user/info', query: { openid, lang } }, UserInfo),
    /** Up to 100 users per call. */
    batchInfo: (openids: string[], lang: 'zh_CN' | 'zh_TW' | 'en' = 'zh_CN') => {
      if (openids.length === 0 || openids.length > 100) throw new RangeError('[wxopen] user/info/batchget takes 1–100 openids');
      return c.call(
        { method: 'POST', path: '/cgi-bin/user/info/batchget', body: { user_list: openids.map((openid) => ({ openid, lang })) }, idempotent: true },
        UserInfoBatchAnswer,
      );
    },
  };
}
export type OaUserApi = ReturnType<typeof oaUserApi>;
