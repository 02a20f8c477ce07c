import { reply, type Reply } from './reply.js';
import type { WxMessage } from './types.js';

/**
 * The full-network-release (全网发布) responder (spec 7). WeChat's test runs against ten dedicated
 * accounts in five groups, one group at random, so every group is handled. It is on by default
 * (`WXOPEN_RELEASE_TEST_RESPONDER`) because a platform cannot go live without passing it, and it only
 * ever answers these ten accounts.
 */
export interface ReleaseTestAccount {
  group: number;
  kind: 'official' | 'miniprogram';
  appid: string;
  userName: string;
}

export const RELEASE_TEST_ACCOUNTS: readonly ReleaseTestAccount[] = (
  [
    [1, 'wx570bc396a51b8ff8', 'gh_3c884a361561', 'wxd101a85aa106f53e', 'gh_8dad206e9538'],
    [2, 'wx9252c5e0bb1836fc', 'gh_c0f28a78b318', 'wxc39235c15087f6f3', 'gh_905ae9d01059'],
    [3, 'wx8e1097c5bc82cde9', 'gh_3f222ed8d140', 'wx7720d01d4b2a4500', 'gh_393666f1fdf4'],
    [4, 'wx14550af28c71a144', 'gh_26128078e9ab', 'wx05d483572dcd5d8b', 'gh_39abb5d4e1b7'],
    [5, 'wxa35b9c23cfe664eb', 'gh_2b3713f184a6', 'wx5910277cae6fd970', 'gh_7818dcb60240'],
  ] as const
).flatMap(([group, oa, oaUser, mp, mpUser]): ReleaseTestAccount[] => [
  { group, kind: 'official', appid: oa, userName: oaUser },
  { group, kind: 'miniprogram', appid: mp, userName: mpUser },
]);

const BY_APPID = new Map(RELEASE_TEST_ACCOUNTS.map((a) => [a.appid, a]));
const BY_USERNAME = new Map(RELEASE_TEST_ACCOUNTS.map((a) => [a.userName, a]));

export const TEST_TEXT = 'TESTCOMPONENT_MSG_TYPE_TEXT';
export const QUERY_AUTH_CODE_PREFIX = 'QUERY_AUTH_CODE:';

/** A test account by appid (the URL path) or gh_ id (ToUserName). */
export function releaseTestAccount(appid: string, toUserName?: string): ReleaseTestAccount | undefined {
  return BY_APPID.get(appid) ?? (toUserName === undefined ? undefined : BY_USERNAME.get(toUserName));
}

/** The gh_ id a test account's messages carry, for the ToUserName check. */
export function releaseTestUserName(appid: string): string | undefined {
  return BY_APPID.get(appid)?.userName;
}

export type ReleaseTestAnswer =
  /** Answer at once with this passive reply (cases 2 and the event case). */
  | { reply: Reply }
  /** Answer empty/`success` at once, then exchange `code` and send `<code>_from_api` (cases 3 and 4). */
  | { queryAuthCode: string };

/** What the responder does with a message to a test account; undefined when it is not one of the cases. */
export function releaseTestAnswer(m: WxMessage): ReleaseTestAnswer | undefined {
  if (!releaseTestAccount(m.authorizerAppid, m.toUserName)) return undefined;
  if (m.type === 'message.text') {
    // Strip the prefix exactly (spec 7): the code is everything after it.
    if (m.content.startsWith(QUERY_AUTH_CODE_PREFIX)) return { queryAuthCode: m.content.slice(QUERY_AUTH_CODE_PREFIX.length) };
    // Case 2 handled generically for the test accounts, as the spec allows: echo + `_callback`.
    return { reply: reply.text(`${m.content}_callback`) };
  }
  if (m.msgType === 'event' && typeof m.fields.Event === 'string') return { reply: reply.text(`${m.fields.Event}from_callback`) };
  return undefined;
}

/** The two upstream calls of cases 3/4, injected so this room does not depend on the platform class. */
export interface ReleaseTestCalls {
  /** api_query_auth with the code; stores the authorizer and its token. */
  queryAuth(code: string): Promise<unknown>;
  /** Customer-service text to `touser` with the authorizer's (just obtained) token. */
  sendText(authorizerAppid: string, touser: string, content: string): Promise<unknown>;
}

/**
 * Cases 3 and 4 after the empty reply: exchange the code, then send `<code>_from_api`. When the
 * exchange fails the message is still sent with the token already stored (spec 7: the code may have
 * been taken from the authorized push first).
 */
export async function answerQueryAuthCode(
  calls: ReleaseTestCalls,
  m: { authorizerAppid: string; fromUserName: string },
  code: string,
  warn: (err: unknown, what: string) => void,
): Promise<void> {
  try {
    await calls.queryAuth(code);
  } catch (err) {
    warn(err, 'release test: api_query_auth with the QUERY_AUTH_CODE failed; sending with the stored token');
  }
  await calls.sendText(m.authorizerAppid, m.fromUserName, `${code}_from_api`);
}
