import { decodeAesKey } from '../../src/crypto/aes-key.js';
import { signPush, type SignedPush } from '../../src/crypto/reply.js';

/** The bench platform's credentials (real mode: given to both servers as WXOPEN_* variables). */
export const BENCH_ENV = {
  WXOPEN_COMPONENT_APPID: 'wxbe4c4be4c4be4c40',
  WXOPEN_COMPONENT_SECRET: 'bench-component-secret-0000000000',
  WXOPEN_TOKEN: 'benchPushToken42',
  WXOPEN_ENCODING_AES_KEY: 'YmVuY2hwdXNoZW5jb2RpbmdhZXNrZXlmb3J3eG9wZW4',
} as const;

export const CREDS = {
  token: BENCH_ENV.WXOPEN_TOKEN,
  componentAppid: BENCH_ENV.WXOPEN_COMPONENT_APPID,
  aesKey: decodeAesKey(BENCH_ENV.WXOPEN_ENCODING_AES_KEY),
} as const;

/**
 * ticket: component_verify_ticket (stored before `success`); authorized: an authorization event;
 * reply: release-test text → encrypted reply; message: a user text stored, no reply; forged: a ticket
 * push whose msg_signature is wrong (refused 401, nothing decrypted).
 */
export type Scenario = 'ticket' | 'authorized' | 'reply' | 'message' | 'forged';

const AUTHORIZER_APPID = 'wxa1b2c3d4e5f6a7b8';
const USERNAME = 'gh_3fa9c1b2d4e5';
/** A full-network-release test account (spec 7, group 1): its text is answered by the built-in responder. */
export const RELEASE_TEST_APPID = 'wx570bc396a51b8ff8';
export const RELEASE_TEST_USERNAME = 'gh_3c884a361561';
export const RELEASE_TEST_TEXT = 'TESTCOMPONENT_MSG_TYPE_TEXT';

/** A run-unique prefix so pushes never collide with those of an earlier bench run. */
const RUN = Date.now().toString(36);

/**
 * Authorization events per second of event time in the authorized case: its i-th push says it happened
 * i ÷ this seconds after the first. A stream of real events advances its CreateTime, and wxopen's push and
 * exchange keys start with it (so an index grows at its end); one constant CreateTime for every push of
 * a run would be several hundred thousand authorizations in one second, the one order no stream has.
 * 1000/s is still far above any platform's real rate (merchants authorize a few times a minute at a peak).
 */
export const AUTHORIZATIONS_PER_SECOND = 1000;

/** The i-th distinct push of a scenario, as WeChat would send it, signed for `nowSeconds`. */
export function makePush(scenario: Scenario, i: number, nowSeconds: number): { path: string; push: SignedPush } {
  const seal = { token: CREDS.token, encodingAesKey: CREDS.aesKey, appid: CREDS.componentAppid, timestamp: String(nowSeconds) };
  if (scenario === 'authorized') {
    const appid = `wx${(i % 1e16).toString(16).padStart(16, '0')}`;
    const eventTime = nowSeconds + Math.floor((i % 1e9) / AUTHORIZATIONS_PER_SECOND);
    const xml =
      `<xml><AppId><![CDATA[${CREDS.componentAppid}]]></AppId><CreateTime>${eventTime}</CreateTime>` +
      `<InfoType><![CDATA[authorized]]></InfoType><AuthorizerAppid><![CDATA[${appid}]]></AuthorizerAppid>` +
      `<AuthorizationCode><![CDATA[queryauthcode@@@${RUN}-${i}-${'C'.repeat(40)}]]></AuthorizationCode>` +
      `<AuthorizationCodeExpiredTime>${nowSeconds + 3600}</AuthorizationCodeExpiredTime>` +
      `<PreAuthCode><![CDATA[preauthcode@@@${RUN}-${i}]]></PreAuthCode></xml>`;
    return { path: '/wechat/component', push: signPush(xml, seal) };
  }
  if (scenario === 'ticket' || scenario === 'forged') {
    const ticket = `ticket@@@${RUN}-${i}-${'T'.repeat(60)}`;
    const xml =
      `<xml><AppId><![CDATA[${CREDS.componentAppid}]]></AppId><CreateTime>${nowSeconds}</CreateTime>` +
      `<InfoType><![CDATA[component_verify_ticket]]></InfoType>` +
      `<ComponentVerifyTicket><![CDATA[${ticket}]]></ComponentVerifyTicket></xml>`;
    const push = signPush(xml, seal);
    // Forged: a well-formed push whose signature is one hex digit off.
    if (scenario === 'forged') push.query.msg_signature = push.query.msg_signature!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    return { path: '/wechat/component', push };
  }
  const openid = `oB8Xj5${RUN}${String(i).padStart(12, '0')}`;
  const msgId = `${nowSeconds}${String(i).padStart(9, '0')}`;
  if (scenario === 'reply') {
    const xml =
      `<xml><ToUserName><![CDATA[${RELEASE_TEST_USERNAME}]]></ToUserName><FromUserName><![CDATA[${openid}]]></FromUserName>` +
      `<CreateTime>${nowSeconds}</CreateTime><MsgType><![CDATA[text]]></MsgType>` +
      `<Content><![CDATA[${RELEASE_TEST_TEXT}]]></Content><MsgId>${msgId}</MsgId></xml>`;
    return { path: `/wechat/authorizer/${RELEASE_TEST_APPID}`, push: signPush(xml, { ...seal, toUserName: RELEASE_TEST_USERNAME, openid }) };
  }
  const xml =
    `<xml><ToUserName><![CDATA[${USERNAME}]]></ToUserName><FromUserName><![CDATA[${openid}]]></FromUserName>` +
    `<CreateTime>${nowSeconds}</CreateTime><MsgType><![CDATA[text]]></MsgType>` +
    `<Content><![CDATA[你好，我想查询一下订单 #${i} 的物流状态]]></Content><MsgId>${msgId}</MsgId></xml>`;
  return { path: `/wechat/authorizer/${AUTHORIZER_APPID}`, push: signPush(xml, { ...seal, toUserName: USERNAME, openid }) };
}

/** The raw HTTP/1.1 request bytes of a push (what the load generator writes). */
export function serializeRequest(path: string, push: SignedPush): Buffer {
  const body = Buffer.from(push.body, 'utf8');
  const head =
    `POST ${path}?${new URLSearchParams(push.query).toString()} HTTP/1.1\r\n` +
    `Host: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/**
 * Pre-generated distinct pushes of one scenario. Every server run reads it from the start (each run is
 * a fresh process with a fresh database, so a push is new to it); `next()` past the end generates on
 * the fly and counts it, because that would steal load-generator CPU and the table says so.
 */
export class PushPool {
  private readonly requests: Buffer[] = [];
  private cursor = 0;
  onTheFly = 0;
  readonly createdAt = Math.floor(Date.now() / 1000);

  constructor(readonly scenario: Scenario) {}

  get size(): number {
    return this.requests.length;
  }

  grow(to: number): void {
    while (this.requests.length < to) this.requests.push(this.make(this.requests.length));
  }

  private make(i: number): Buffer {
    const { path, push } = makePush(this.scenario, i, this.createdAt);
    return serializeRequest(path, push);
  }

  rewind(): void {
    this.cursor = 0;
    this.onTheFly = 0;
  }

  /** Pushes handed out since the last rewind. */
  get used(): number {
    return this.cursor;
  }

  readonly next = (): Buffer => {
    const i = this.cursor++;
    const ready = this.requests[i];
    if (ready !== undefined) return ready;
    this.onTheFly++;
    const made = this.make(i);
    this.requests.push(made);
    return made;
  };
}
