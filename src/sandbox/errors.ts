import { randomBytes } from 'node:crypto';

/** The errmsg WeChat sends for each code the sandbox produces (before the ` rid: …` suffix). */
export const ERRMSG: Readonly<Record<number, string>> = {
  [-1]: 'system error',
  40001: 'invalid credential, access_token is invalid or not latest',
  40002: 'invalid grant_type',
  40003: 'invalid openid',
  40008: 'invalid message type',
  40013: 'invalid appid',
  40014: 'invalid access_token',
  40016: 'invalid button size',
  40017: 'invalid button type',
  40018: 'invalid button name size',
  40029: 'invalid code',
  40030: 'invalid refresh_token',
  40037: 'invalid template_id',
  40066: 'invalid url',
  40097: 'invalid args',
  40125: 'invalid appsecret',
  40163: 'code been used',
  41001: 'access_token missing',
  41002: 'appid missing',
  41004: 'appsecret missing',
  42001: 'access_token expired',
  42003: 'code expired',
  44002: 'empty post data',
  46003: 'menu no exist',
  45009: 'reach max api daily quota limit',
  45011: 'api minute-quota reach limit  mustslower  retry next minute',
  45015: 'response out of time limit or subscription is canceled',
  45047: 'out of response count limit',
  47001: 'data format error',
  48001: 'api unauthorized',
  48006: 'forbid to clear quota because of reaching the limit',
  61003: 'component is not authorized by this account',
  61005: 'component ticket is expired',
  61006: 'component ticket is invalid',
  61007: 'api is unauthorized to component',
  61009: 'code is invalid',
  61010: 'code is expired',
  61011: 'invalid component',
  61012: 'invalid option name',
  61013: 'invalid option value',
  61023: 'refresh_token is invalid',
  61039: 'privacy detection task is not finished',
  76022: 'could not use this cgi_path, no permission',
  85001: 'wechat id does not exist or is not searchable',
  85002: 'number of testers reached the limit',
  85004: 'wechat id is already a tester',
  85009: 'a version is already under audit',
  85012: 'invalid audit id',
  85013: 'invalid ext_json',
  85014: 'invalid template id',
  85015: 'invalid version',
  85016: 'domain count exceeds the limit',
  85017: 'no domain to modify',
  85018: 'domain is not set on the third-party platform',
  85019: 'no audited version to release',
  85020: 'status does not allow release',
  85023: 'item_list count is not between 1 and 5',
  85052: 'this version has already been released',
  85058: 'no valid audit_id exist',
  85064: 'template not found',
  85065: 'template library is full',
  85077: 'invalid category',
  85079: 'no online version',
  85080: 'audit not passed',
  85081: 'invalid gray_percentage',
  85082: 'gray_percentage must increase',
  85085: 'submit audit reach limit',
  85086: 'must commit before submit audit',
  86001: 'no committed code',
  86002: 'nickname, avatar or introduction is not set',
  87011: 'cannot revert: a gray release is in progress',
  87012: 'no version can be reverted',
  87013: 'undo audit reach limit',
  86069: 'owner_setting required field missing',
  86071: 'invalid privacy_ver',
  86074: 'live privacy setting does not exist',
  89402: 'the audit is not in the queue',
  89404: 'already sped up',
  89405: 'speed up quota reach limit',
  9410010: 'long_data too long',
  9410011: 'expire_seconds too long',
  9410012: 'short_key invalid or expired',
  9402203: 'standard template ext_json error',
};

export interface WxErrorBody {
  errcode: number;
  errmsg: string;
}

/** A request id shaped like WeChat's (`rid: 64f1c2a3-1b2c3d4e-5f6a7b8c`), which clients are told to log. */
export function newRid(): string {
  const hex = randomBytes(12).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 16)}-${hex.slice(16, 24)}`;
}

/** A WeChat-shaped error body. The message defaults to the one WeChat sends for `errcode`. */
export function wxError(errcode: number, errmsg?: string): WxErrorBody {
  return { errcode, errmsg: `${errmsg ?? ERRMSG[errcode] ?? 'error'} rid: ${newRid()}` };
}

/**
 * Thrown by route code and turned into an HTTP 200 WeChat error body by the app's error handler, the
 * way WeChat answers nearly every failure.
 */
export class WxReject extends Error {
  constructor(
    readonly errcode: number,
    readonly errmsg?: string,
  ) {
    super(`[wxopen sandbox] errcode ${errcode}: ${errmsg ?? ERRMSG[errcode] ?? 'error'}`);
    this.name = 'WxReject';
  }
}

export function reject(errcode: number, errmsg?: string): never {
  throw new WxReject(errcode, errmsg);
}
