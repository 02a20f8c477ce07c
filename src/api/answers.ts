import { z } from 'zod';
import { UpstreamInvalidError } from '../errors.js';

/**
 * The fields of WeChat's answers that wxopen relies on, one schema per answer (spec 3.x). Objects are
 * loose: WeChat adds fields freely, and only what we read is checked.
 */
export const componentTokenAnswer = z.looseObject({
  component_access_token: z.string().min(1),
  expires_in: z.number().int().positive(),
});

export const preAuthCodeAnswer = z.looseObject({
  pre_auth_code: z.string().min(1),
  expires_in: z.number().int().positive(),
});

const funcInfo = z.array(z.looseObject({ funcscope_category: z.looseObject({ id: z.number().int() }) }));

export const queryAuthAnswer = z.looseObject({
  authorization_info: z.looseObject({
    authorizer_appid: z.string().min(1),
    authorizer_access_token: z.string().min(1).optional(),
    expires_in: z.number().int().positive().optional(),
    authorizer_refresh_token: z.string().min(1),
    func_info: funcInfo.optional(),
  }),
});

export const authorizerTokenAnswer = z.looseObject({
  authorizer_access_token: z.string().min(1),
  expires_in: z.number().int().positive(),
  authorizer_refresh_token: z.string().optional(),
});

export const authorizerInfoAnswer = z.looseObject({
  authorizer_info: z.record(z.string(), z.unknown()),
});

export const authorizerListAnswer = z.looseObject({
  total_count: z.number().int().nonnegative(),
  list: z.array(z.looseObject({ authorizer_appid: z.string(), refresh_token: z.string().optional() })).default([]),
});

/** Answers that carry nothing but errcode 0 (api_start_push_ticket, clear_quota…). */
export const okAnswer = z.looseObject({ errcode: z.union([z.literal(0), z.literal('0')]).optional() });

/** Parses `data` or throws UpstreamInvalidError naming `path` and the first bad field. */
export function parseAnswer<S extends z.ZodType>(schema: S, data: unknown, path: string): z.output<S> {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  // Stryker disable next-line OptionalChaining: a failed safeParse has at least one issue, so `issue` is never undefined
  throw new UpstreamInvalidError(path, issue?.path.map(String).join('.') ?? '', issue?.message ?? 'invalid');
}
