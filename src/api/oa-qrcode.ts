import { z } from 'zod';
import type { ApiCaller } from './client.js';

/** Parametric QR codes (set 3) and short keys (短key托管, sets 3/17) (spec 12.5). */

export type QrcodeRequest =
  | { action_name: 'QR_SCENE'; expire_seconds?: number; action_info: { scene: { scene_id: number } } }
  | { action_name: 'QR_STR_SCENE'; expire_seconds?: number; action_info: { scene: { scene_str: string } } }
  | { action_name: 'QR_LIMIT_SCENE'; action_info: { scene: { scene_id: number } } }
  | { action_name: 'QR_LIMIT_STR_SCENE'; action_info: { scene: { scene_str: string } } };

export const QrcodeAnswer = z.looseObject({ ticket: z.string(), expire_seconds: z.number().optional(), url: z.string() });
export const ShortKeyAnswer = z.looseObject({ short_key: z.string() });
export const ShortKeyFetchAnswer = z.looseObject({ long_data: z.string(), create_time: z.number(), expire_seconds: z.number() });
export type QrcodeAnswer = z.infer<typeof QrcodeAnswer>;

export function oaQrcodeApi(c: ApiCaller) {
  return {
    create: (r: QrcodeRequest) => c.call({ method: 'POST', path: '/cgi-bin/qrcode/create', body: r }, QrcodeAnswer),
    /** `long_data` ≤ 4 KB, kept ≤ 30 days. */
    shortenGen: (longData: string, expireSeconds?: number) =>
      // Stryker disable next-line ConditionalExpression: `{ expire_seconds: undefined }` is dropped by JSON.stringify, so the body on the wire is the same
      c.call({ method: 'POST', path: '/cgi-bin/shorten/gen', body: { long_data: longData, ...(expireSeconds !== undefined && { expire_seconds: expireSeconds }) } }, ShortKeyAnswer),
    shortenFetch: (shortKey: string) =>
      c.call({ method: 'POST', path: '/cgi-bin/shorten/fetch', body: { short_key: shortKey }, idempotent: true }, ShortKeyFetchAnswer),
  };
}
export type OaQrcodeApi = ReturnType<typeof oaQrcodeApi>;
