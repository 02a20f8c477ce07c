import { z } from 'zod';
import { OkAnswer, type ApiCaller } from './client.js';

/** Customer-service send (spec 12.5, 13; sets 1/6/19) and template messages (set 7). */

export type CustomMessage =
  | { msgtype: 'text'; text: { content: string } }
  | { msgtype: 'image'; image: { media_id: string } }
  | { msgtype: 'voice'; voice: { media_id: string } }
  | { msgtype: 'video'; video: { media_id: string; thumb_media_id?: string; title?: string; description?: string } }
  | { msgtype: 'music'; music: { title?: string; description?: string; musicurl: string; hqmusicurl: string; thumb_media_id: string } }
  | { msgtype: 'news'; news: { articles: Array<{ title: string; description?: string; url: string; picurl?: string }> } }
  | { msgtype: 'mpnews'; mpnews: { media_id: string } }
  | { msgtype: 'link'; link: { title: string; description: string; url: string; thumb_url: string } }
  | { msgtype: 'miniprogrampage'; miniprogrampage: { title: string; appid?: string; pagepath: string; thumb_media_id: string } };

export interface TemplateMessage {
  touser: string;
  template_id: string;
  url?: string;
  miniprogram?: { appid: string; pagepath?: string };
  client_msg_id?: string;
  data: Record<string, { value: string; color?: string }>;
}

export const TemplateSendAnswer = z.looseObject({ msgid: z.number() });

export function oaMessageApi(c: ApiCaller) {
  return {
    /** Only inside the window a user action opened (45015/45047 otherwise, never retried). */
    sendCustom: (touser: string, message: CustomMessage, kfAccount?: string) =>
      c.call(
        { method: 'POST', path: '/cgi-bin/message/custom/send', body: { touser, ...message, ...(kfAccount && { customservice: { kf_account: kfAccount } }) } },
        OkAnswer,
      ),
    sendText: (touser: string, content: string) => c.call({ method: 'POST', path: '/cgi-bin/message/custom/send', body: { touser, msgtype: 'text', text: { content } } }, OkAnswer),
    sendTemplate: (m: TemplateMessage) => c.call({ method: 'POST', path: '/cgi-bin/message/template/send', body: m }, TemplateSendAnswer),
  };
}
export type OaMessageApi = ReturnType<typeof oaMessageApi>;
