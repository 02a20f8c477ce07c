import { z } from 'zod';
import { OkAnswer, type ApiCaller } from './client.js';
import type { BinaryAnswer } from './http.js';

/** Mini-program code management (spec 5.2, 12.2, 16; permission set 18). */

export interface CommitRequest {
  template_id: number;
  /** An object is stringified for you: WeChat wants ext_json as a string holding JSON (85013/47001 otherwise). */
  ext_json?: string | Record<string, unknown>;
  user_version: string;
  user_desc?: string;
}

export interface AuditItem {
  address?: string;
  tag?: string;
  first_class?: string;
  second_class?: string;
  third_class?: string;
  first_id?: number;
  second_id?: number;
  third_id?: number;
  title?: string;
}

export interface SubmitAuditRequest {
  item_list?: AuditItem[];
  preview_info?: { video_id_list?: string[]; pic_id_list?: string[] };
  version_desc?: string;
  feedback_info?: string;
  feedback_stuff?: string;
  ugc_declare?: Record<string, unknown>;
  privacy_api_not_use?: boolean;
  order_path?: string;
}

export interface GrayReleaseRequest {
  gray_percentage: number;
  support_debuger_first?: boolean;
  support_experiencer_first?: boolean;
}

export const PageListAnswer = z.looseObject({ page_list: z.array(z.string()) });
export const CategoryListAnswer = z.looseObject({
  category_list: z.array(
    z.looseObject({
      first_class: z.string(),
      second_class: z.string(),
      third_class: z.string().optional(),
      first_id: z.number(),
      second_id: z.number(),
      third_id: z.number().optional(),
    }),
  ),
});
export const SubmitAuditAnswer = z.looseObject({ auditid: z.number() });
export const AuditStatusAnswer = z.looseObject({
  status: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3), z.literal(4)]),
  reason: z.string().optional(),
  screenshot: z.string().optional(),
});
export const LatestAuditStatusAnswer = AuditStatusAnswer.extend({
  auditid: z.number(),
  ScreenShot: z.string().optional(),
  user_version: z.string().optional(),
  user_desc: z.string().optional(),
  submit_audit_time: z.number().optional(),
});
export const QuotaAnswer = z.looseObject({ rest: z.number(), limit: z.number(), speedup_rest: z.number(), speedup_limit: z.number() });
export const HistoryVersionsAnswer = z.looseObject({
  version_list: z.array(z.looseObject({ app_version: z.number(), user_version: z.string(), user_desc: z.string() })),
});
export const GrayPlanAnswer = z.looseObject({
  gray_release_plan: z.looseObject({
    status: z.number(),
    create_timestamp: z.number(),
    gray_percentage: z.number(),
    support_debuger_first: z.boolean().optional(),
    support_experiencer_first: z.boolean().optional(),
  }),
});
export const VisitStatusAnswer = z.looseObject({ status: z.union([z.literal(0), z.literal(1)]) });

export const VersionInfoAnswer = z.looseObject({
  exp_info: z.looseObject({ exp_time: z.number(), exp_version: z.string(), exp_desc: z.string() }).optional(),
  release_info: z.looseObject({ release_time: z.number(), release_version: z.string(), release_desc: z.string() }).optional(),
});

export type VersionInfoAnswer = z.infer<typeof VersionInfoAnswer>;
export type PageListAnswer = z.infer<typeof PageListAnswer>;
export type CategoryListAnswer = z.infer<typeof CategoryListAnswer>;
export type AuditStatusAnswer = z.infer<typeof AuditStatusAnswer>;
export type LatestAuditStatusAnswer = z.infer<typeof LatestAuditStatusAnswer>;
export type QuotaAnswer = z.infer<typeof QuotaAnswer>;
export type GrayPlanAnswer = z.infer<typeof GrayPlanAnswer>;

export function wxaCodeApi(c: ApiCaller) {
  return {
    /** @see https://developers.weixin.qq.com/doc/oplatform/openApi/miniprogram-management/code-management/api_commit */
    commit: (r: CommitRequest) =>
      c.call(
        {
          method: 'POST',
          path: '/wxa/commit',
          body: { ...r, ext_json: typeof r.ext_json === 'string' ? r.ext_json : JSON.stringify(r.ext_json ?? {}) },
        },
        OkAnswer,
      ),
    getPage: () => c.call({ method: 'GET', path: '/wxa/get_page' }, PageListAnswer),
    /** The trial version's QR code as image bytes; `path` is a page with its query. */
    getQrcode: async (path?: string): Promise<BinaryAnswer> => c.binary({ method: 'GET', path: '/wxa/get_qrcode', query: { path } }),
    getCategory: () => c.call({ method: 'GET', path: '/wxa/get_category' }, CategoryListAnswer),
    submitAudit: (r: SubmitAuditRequest = {}) => c.call({ method: 'POST', path: '/wxa/submit_audit', body: r }, SubmitAuditAnswer),
    getAuditStatus: (auditid: number) => c.call({ method: 'POST', path: '/wxa/get_auditstatus', body: { auditid }, idempotent: true }, AuditStatusAnswer),
    getLatestAuditStatus: () => c.call({ method: 'GET', path: '/wxa/get_latest_auditstatus' }, LatestAuditStatusAnswer),
    /** GET, but it spends the 5/day undo quota: never repeated automatically. */
    undoCodeAudit: () => c.call({ method: 'GET', path: '/wxa/undocodeaudit', idempotent: false }, OkAnswer),
    speedupAudit: (auditid: number) => c.call({ method: 'POST', path: '/wxa/speedupaudit', body: { auditid } }, OkAnswer),
    /** The trial (last committed) and online versions; `{}` body (POST). */
    getVersionInfo: () => c.call({ method: 'POST', path: '/wxa/getversioninfo', body: {}, idempotent: true }, VersionInfoAnswer),
    queryQuota: () => c.call({ method: 'GET', path: '/wxa/queryquota' }, QuotaAnswer),
    /** Sends `{}`: an empty body is 44002. */
    release: () => c.call({ method: 'POST', path: '/wxa/release', body: {} }, OkAnswer),
    revertCodeRelease: (appVersion?: number) =>
      c.call({ method: 'GET', path: '/wxa/revertcoderelease', query: { app_version: appVersion }, idempotent: false }, OkAnswer),
    getHistoryVersions: () =>
      c.call({ method: 'GET', path: '/wxa/revertcoderelease', query: { action: 'get_history_version' } }, HistoryVersionsAnswer),
    grayRelease: (r: GrayReleaseRequest) => c.call({ method: 'POST', path: '/wxa/grayrelease', body: r }, OkAnswer),
    revertGrayRelease: () => c.call({ method: 'GET', path: '/wxa/revertgrayrelease', idempotent: false }, OkAnswer),
    getGrayReleasePlan: () => c.call({ method: 'GET', path: '/wxa/getgrayreleaseplan' }, GrayPlanAnswer),
    changeVisitStatus: (action: 'open' | 'close') => c.call({ method: 'POST', path: '/wxa/change_visitstatus', body: { action } }, OkAnswer),
    getVisitStatus: () => c.call({ method: 'POST', path: '/wxa/getvisitstatus', body: {}, idempotent: true }, VisitStatusAnswer),
  };
}
export type WxaCodeApi = ReturnType<typeof wxaCodeApi>;
