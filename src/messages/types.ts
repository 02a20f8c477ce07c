import { z } from 'zod';
import type { XmlObject } from '../xml/parse.js';

/**
 * Typed user messages and events of the message & event URL (`/wechat/authorizer/$APPID$`).
 * Numeric fields arrive as strings in the XML and are read with zod; every message keeps its raw
 * fields, so a field this file does not name is still reachable as `m.fields.X`.
 */

const str = z.string();
const num = z
  .string()
  .regex(/^-?\d+(\.\d+)?$/)
  .transform(Number);
const optStr = str.optional();
const optNum = num.optional();

/** Message kinds (`MsgType`) with their own fields. */
export const messageSchemas = {
  text: z.looseObject({ Content: str.default(''), MsgId: optStr, BizMsgMenuId: optStr }),
  image: z.looseObject({ PicUrl: optStr, MediaId: optStr, MsgId: optStr }),
  voice: z.looseObject({ MediaId: optStr, Format: optStr, Recognition: optStr, MsgId: optStr }),
  video: z.looseObject({ MediaId: optStr, ThumbMediaId: optStr, MsgId: optStr }),
  shortvideo: z.looseObject({ MediaId: optStr, ThumbMediaId: optStr, MsgId: optStr }),
  location: z.looseObject({ Location_X: num, Location_Y: num, Scale: optNum, Label: optStr, MsgId: optStr }),
  link: z.looseObject({ Title: optStr, Description: optStr, Url: optStr, MsgId: optStr }),
  /** Mini-program customer-service card (spec 13.2). */
  miniprogrampage: z.looseObject({ Title: optStr, AppId: optStr, PagePath: optStr, ThumbUrl: optStr, ThumbMediaId: optStr, MsgId: optStr }),
} as const;

/** Event kinds (`MsgType=event`, by `Event`), official-account and mini-program. */
export const eventSchemas = {
  subscribe: z.looseObject({ EventKey: optStr, Ticket: optStr }),
  unsubscribe: z.looseObject({}),
  SCAN: z.looseObject({ EventKey: optStr, Ticket: optStr }),
  LOCATION: z.looseObject({ Latitude: num, Longitude: num, Precision: optNum }),
  CLICK: z.looseObject({ EventKey: optStr }),
  VIEW: z.looseObject({ EventKey: optStr, MenuId: optStr }),
  /** Mini-program audit results (spec 5.6). */
  weapp_audit_success: z.looseObject({ SuccTime: num }),
  weapp_audit_fail: z.looseObject({ Reason: str.default(''), FailTime: num, ScreenShot: optStr }),
  weapp_audit_delay: z.looseObject({ Reason: str.default(''), DelayTime: num }),
  /** Mini-program nickname review (名称审核结果事件). */
  wxa_nickname_audit: z.looseObject({ ret: num, nickname: optStr, reason: optStr }),
  /** A user opened the mini-program customer-service session (opens the 2-per-minute window, spec 13.2). */
  user_enter_tempsession: z.looseObject({ SessionFrom: optStr }),
} as const;

export type MessageKind = keyof typeof messageSchemas;
export type EventKind = keyof typeof eventSchemas;
/** The routing key: `message.text`, `event.weapp_audit_success`, … or `other`. */
export type MessageType = `message.${MessageKind}` | `event.${EventKind}` | 'other';

interface Base<T extends string, F> {
  type: T;
  /** The authorizer appid from the URL path (`$APPID$`). */
  authorizerAppid: string;
  /** The account's gh_ id. */
  toUserName: string;
  /** The user's openid (for system events, an id WeChat chooses). */
  fromUserName: string;
  /** Unix seconds. */
  createTime: number;
  msgType: string;
  /** The typed fields of this kind (zod output). */
  data: F;
  /** Every decrypted field as received. */
  fields: XmlObject;
  /** The decrypted XML. */
  raw: string;
}

type MessageOf<K extends MessageKind> = Base<`message.${K}`, z.output<(typeof messageSchemas)[K]>> & { msgId: string | undefined };
type EventOf<K extends EventKind> = Base<`event.${K}`, z.output<(typeof eventSchemas)[K]>> & { event: K };

export type TextMessage = MessageOf<'text'> & { content: string };
export type ImageMessage = MessageOf<'image'>;
export type VoiceMessage = MessageOf<'voice'>;
export type VideoMessage = MessageOf<'video'>;
export type ShortVideoMessage = MessageOf<'shortvideo'>;
export type LocationMessage = MessageOf<'location'>;
export type LinkMessage = MessageOf<'link'>;
export type MiniProgramPageMessage = MessageOf<'miniprogrampage'>;
/** Any message or event this file has no schema for (or whose fields do not match it): stored and delivered as is. */
export type OtherMessage = Base<'other', Record<string, never>> & { msgId: string | undefined; event: string | undefined; reason?: string };

/** Every typed message, by routing key. */
export type TypedMessages = { 'message.text': TextMessage } & { [K in Exclude<MessageKind, 'text'> as `message.${K}`]: MessageOf<K> } & {
  [K in EventKind as `event.${K}`]: EventOf<K>;
} & { other: OtherMessage };

export type WxMessage = TypedMessages[keyof TypedMessages];
export type AuditEvent = TypedMessages['event.weapp_audit_success' | 'event.weapp_audit_fail' | 'event.weapp_audit_delay'];

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** The routing key of decrypted fields, without validating them (cheap: used for metrics and dedupe). */
export function messageTypeOf(fields: XmlObject): string {
  const msgType = typeof fields.MsgType === 'string' ? fields.MsgType : 'unknown';
  return msgType === 'event' && typeof fields.Event === 'string' ? `event.${fields.Event}` : `message.${msgType}`;
}

/**
 * Decrypted fields → a typed message. Never throws: an unknown kind, or a known kind whose fields do
 * not pass its schema, becomes `other` (with `reason`), because WeChat adds fields and kinds over time
 * and a message must still be stored and acknowledged.
 */
export function toMessage(authorizerAppid: string, fields: XmlObject, raw: string): WxMessage {
  const s = (v: unknown): string => (typeof v === 'string' ? v : '');
  const msgType = s(fields.MsgType);
  const createTime = Number(s(fields.CreateTime)) || 0;
  const base = { authorizerAppid, toUserName: s(fields.ToUserName), fromUserName: s(fields.FromUserName), createTime, msgType, fields, raw };
  const msgId = typeof fields.MsgId === 'string' ? fields.MsgId : undefined;
  const other = (reason?: string): OtherMessage => ({
    ...base,
    type: 'other',
    data: {},
    msgId,
    event: typeof fields.Event === 'string' ? fields.Event : undefined,
    ...(reason !== undefined && { reason }),
  });
  if (msgType === 'event') {
    const event = s(fields.Event);
    if (!hasOwn(eventSchemas, event)) return other();
    const parsed = eventSchemas[event as EventKind].safeParse(fields);
    if (!parsed.success) return other(`${event}: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
    return { ...base, type: `event.${event}`, event, data: parsed.data } as WxMessage;
  }
  if (!hasOwn(messageSchemas, msgType)) return other();
  const parsed = messageSchemas[msgType as MessageKind].safeParse(fields);
  if (!parsed.success) return other(`${msgType}: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  const message = { ...base, type: `message.${msgType}`, msgId, data: parsed.data } as WxMessage;
  if (message.type === 'message.text') message.content = message.data.Content;
  return message;
}
