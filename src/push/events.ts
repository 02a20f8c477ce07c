import { z } from 'zod';
import { WxOpenError } from '../errors.js';
import type { XmlObject } from '../xml/parse.js';

const text = z.string();
const seconds = z.string().regex(/^\d{1,12}$/).transform(Number);

/** zod schemas of the authorization-event URL's InfoTypes (spec 2). Extra fields pass through. */
export const pushSchemas = {
  component_verify_ticket: z.looseObject({
    AppId: text,
    CreateTime: seconds,
    InfoType: z.literal('component_verify_ticket'),
    ComponentVerifyTicket: z.string().min(1),
  }),
  authorized: z.looseObject({
    AppId: text,
    CreateTime: seconds,
    InfoType: z.enum(['authorized', 'updateauthorized']),
    AuthorizerAppid: z.string().min(1),
    AuthorizationCode: z.string().min(1),
    AuthorizationCodeExpiredTime: seconds.optional(),
    PreAuthCode: text.optional(),
  }),
  unauthorized: z.looseObject({
    AppId: text,
    CreateTime: seconds,
    InfoType: z.literal('unauthorized'),
    AuthorizerAppid: z.string().min(1),
  }),
  other: z.looseObject({ AppId: text.optional(), CreateTime: seconds.optional(), InfoType: z.string().min(1) }),
} as const;

interface PushBase {
  componentAppid: string;
  /** WeChat's CreateTime, Unix seconds. */
  createTime: number;
  /** The decrypted XML as received, kept for audit and replays. */
  raw: string;
}
export interface TicketPush extends PushBase {
  type: 'component_verify_ticket';
  ticket: string;
}
export interface AuthorizedPush extends PushBase {
  type: 'authorized' | 'updateauthorized';
  authorizerAppid: string;
  authorizationCode: string;
  /** Epoch ms when the code expires (the field is read as an epoch if > 1e9, else a TTL: spec 2.2). */
  authorizationCodeExpiresAt: number | undefined;
  preAuthCode: string | undefined;
}
export interface UnauthorizedPush extends PushBase {
  type: 'unauthorized';
  authorizerAppid: string;
}
export interface OtherPush extends PushBase {
  type: 'other';
  infoType: string;
  authorizerAppid: string | undefined;
  fields: XmlObject;
}
export type PushEvent = TicketPush | AuthorizedPush | UnauthorizedPush | OtherPush;
export type PushEventType = PushEvent['type'];
type EventOf<T extends PushEventType, E = PushEvent> = E extends { type: infer U } ? (T extends U ? E : never) : never;
export type PushEventMap = { [T in PushEventType]: EventOf<T> };

/** An authentic push that lacks its InfoType's required fields. */
export class PushSchemaError extends WxOpenError {
  readonly code = 'WXO_ERR_PUSH_BAD_EVENT';
  override readonly statusCode = 400;
}

/** Maps decrypted fields to a typed event; an InfoType we do not model becomes `other`. */
export function toPushEvent(fields: XmlObject, raw: string): PushEvent {
  const infoType = fields.InfoType;
  const parse = <S extends z.ZodType>(schema: S): z.infer<S> => {
    const r = schema.safeParse(fields);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new PushSchemaError(`${String(infoType)}: ${issue?.path.join('.') || 'body'} ${issue?.message ?? 'invalid'}`);
    }
    return r.data;
  };
  switch (infoType) {
    case 'component_verify_ticket': {
      const f = parse(pushSchemas.component_verify_ticket);
      return { type: infoType, componentAppid: f.AppId, createTime: f.CreateTime, ticket: f.ComponentVerifyTicket, raw };
    }
    case 'authorized':
    case 'updateauthorized': {
      const f = parse(pushSchemas.authorized);
      const exp = f.AuthorizationCodeExpiredTime;
      return {
        type: f.InfoType,
        componentAppid: f.AppId,
        createTime: f.CreateTime,
        authorizerAppid: f.AuthorizerAppid,
        authorizationCode: f.AuthorizationCode,
        authorizationCodeExpiresAt:
          exp === undefined ? undefined : exp > 1e9 ? exp * 1000 : (f.CreateTime + exp) * 1000,
        preAuthCode: f.PreAuthCode,
        raw,
      };
    }
    case 'unauthorized': {
      const f = parse(pushSchemas.unauthorized);
      return { type: infoType, componentAppid: f.AppId, createTime: f.CreateTime, authorizerAppid: f.AuthorizerAppid, raw };
    }
    default: {
      const f = parse(pushSchemas.other);
      const appid = fields.AuthorizerAppid ?? fields.appid;
      return {
        type: 'other',
        infoType: f.InfoType,
        componentAppid: f.AppId ?? '',
        createTime: f.CreateTime ?? 0,
        authorizerAppid: typeof appid === 'string' ? appid : undefined,
        fields,
        raw,
      };
    }
  }
}
