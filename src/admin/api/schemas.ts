import { APPID_PATTERN } from '../../util/appid.js';

/** JSON Schemas shared by the /api/v1 routes; @fastify/swagger turns them into the OpenAPI document. */
export const appidParam = {
  type: 'object',
  required: ['appid'],
  properties: { appid: { type: 'string', pattern: APPID_PATTERN, description: 'authorizer appid' } },
} as const;

/** The `error` of every refusal: a stable code to match on (the message is for people and may change). */
export const errorCode = {
  type: 'string',
  pattern: '^WXO_ERR_[A-Z_]+$',
  description:
    'A stable code: WXO_ERR_BAD_REQUEST (invalid input), WXO_ERR_UNAUTHORIZED (missing, wrong or revoked token), WXO_ERR_FORBIDDEN (the key lacks the scope or the authorizer), WXO_ERR_NOT_FOUND, WXO_ERR_DATABASE_UNAVAILABLE, WXO_ERR_INTERNAL, or a more specific WXO_ERR_* code',
} as const;

export const errorSchema = {
  type: 'object',
  properties: { error: errorCode, message: { type: 'string' }, errcode: { type: 'integer', description: "WeChat's errcode, when WeChat refused" } },
  required: ['error'],
} as const;

export const permissionSchema = {
  type: 'object',
  properties: { id: { type: 'integer' }, name_zh: { type: 'string' }, name_en: { type: 'string' } },
} as const;

export const authorizerSchema = {
  type: 'object',
  properties: {
    authorizer_appid: { type: 'string' },
    name: { type: ['string', 'null'] },
    head_img: { type: ['string', 'null'] },
    type: { type: 'string', enum: ['official', 'miniprogram', 'unknown'] },
    status: { type: 'string', enum: ['authorized', 'needs_reauthorization', 'unauthorized', 'missing_upstream'] },
    status_reason: { type: ['string', 'null'] },
    permissions: { type: 'array', items: permissionSchema },
    access_token_expires_at: { type: ['string', 'null'], format: 'date-time' },
    authorized_at: { type: ['string', 'null'], format: 'date-time' },
    updated_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

export const pushSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    info_type: { type: 'string' },
    authorizer_appid: { type: ['string', 'null'] },
    create_time: { type: 'integer' },
    received_at: { type: 'string', format: 'date-time' },
  },
} as const;

export const reconcileReportSchema = {
  type: 'object',
  properties: {
    startedAt: { type: 'string' },
    finishedAt: { type: 'string' },
    listed: { type: 'integer' },
    stored: { type: 'integer' },
    added: { type: 'array', items: { type: 'string' } },
    restored: { type: 'array', items: { type: 'string' } },
    markedMissing: { type: 'array', items: { type: 'string' } },
    skipped: { type: 'array', items: { type: 'object', properties: { authorizerAppid: { type: 'string' }, reason: { type: 'string' } } } },
    unchanged: { type: 'integer' },
  },
} as const;

export const keySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } },
    authorizers: { type: ['array', 'null'], items: { type: 'string' } },
    created_at: { type: 'string' },
    revoked_at: { type: ['string', 'null'] },
  },
} as const;

/** Every operator route answers these the same way. */
export const authErrors = { 401: errorSchema, 403: errorSchema } as const;
export const security = [{ bearer: [] }];
