import { buildXml, type XmlInputObject } from '../xml/build.js';

/**
 * Passive replies as values. A handler returns one; the pipeline turns it into the reply XML of the
 * official-account doc (To/From swapped, CreateTime) and encrypts and signs it (crypto/reply.ts).
 */
export interface NewsArticle {
  title: string;
  description?: string;
  picUrl?: string;
  url?: string;
}

export type Reply =
  | { kind: 'text'; content: string }
  | { kind: 'image'; mediaId: string }
  | { kind: 'voice'; mediaId: string }
  | { kind: 'video'; mediaId: string; title?: string; description?: string }
  | { kind: 'music'; title?: string; description?: string; musicUrl?: string; hqMusicUrl?: string; thumbMediaId: string }
  | { kind: 'news'; articles: NewsArticle[] }
  | { kind: 'transfer_customer_service'; kfAccount?: string }
  /** Answer `success` (no passive reply); the same as returning nothing. */
  | { kind: 'none' };

/** Builders: `return reply.text('hi')`. */
export const reply = {
  text: (content: string): Reply => ({ kind: 'text', content }),
  image: (mediaId: string): Reply => ({ kind: 'image', mediaId }),
  voice: (mediaId: string): Reply => ({ kind: 'voice', mediaId }),
  video: (mediaId: string, o: { title?: string; description?: string } = {}): Reply => ({ kind: 'video', mediaId, ...o }),
  music: (o: { title?: string; description?: string; musicUrl?: string; hqMusicUrl?: string; thumbMediaId: string }): Reply => ({ kind: 'music', ...o }),
  /** One to eight articles (WeChat shows at most 8; more is refused here rather than cut silently). */
  news: (articles: NewsArticle[]): Reply => {
    if (articles.length < 1 || articles.length > 8) throw new RangeError(`news replies carry 1 to 8 articles, got ${articles.length}`);
    return { kind: 'news', articles };
  },
  /** Hands the conversation to the customer-service system (optionally to one agent). */
  transferCustomerService: (kfAccount?: string): Reply => ({ kind: 'transfer_customer_service', ...(kfAccount !== undefined && { kfAccount }) }),
  none: (): Reply => ({ kind: 'none' }),
};

export function isReply(value: unknown): value is Reply {
  return typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string';
}

/**
 * The plaintext reply XML for a message from `user` to `account` (the gh_ id). Undefined for `none`.
 * `createTime` in Unix seconds.
 */
export function renderReply(r: Reply, to: { user: string; account: string; createTime: number }): string | undefined {
  const head = { ToUserName: to.user, FromUserName: to.account, CreateTime: to.createTime };
  const body = ((): XmlInputObject | undefined => {
    switch (r.kind) {
      case 'none':
        return undefined;
      case 'text':
        return { MsgType: 'text', Content: r.content };
      case 'image':
        return { MsgType: 'image', Image: { MediaId: r.mediaId } };
      case 'voice':
        return { MsgType: 'voice', Voice: { MediaId: r.mediaId } };
      case 'video':
        return { MsgType: 'video', Video: { MediaId: r.mediaId, Title: r.title, Description: r.description } };
      case 'music':
        return {
          MsgType: 'music',
          Music: { Title: r.title, Description: r.description, MusicUrl: r.musicUrl, HQMusicUrl: r.hqMusicUrl, ThumbMediaId: r.thumbMediaId },
        };
      case 'news':
        return {
          MsgType: 'news',
          ArticleCount: r.articles.length,
          Articles: { item: r.articles.map((a) => ({ Title: a.title, Description: a.description, PicUrl: a.picUrl, Url: a.url })) },
        };
      case 'transfer_customer_service':
        return { MsgType: 'transfer_customer_service', ...(r.kfAccount !== undefined && { TransInfo: { KfAccount: r.kfAccount } }) };
    }
  })();
  return body === undefined ? undefined : buildXml({ ...head, ...body });
}
