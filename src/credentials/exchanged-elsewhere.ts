import { setTimeout as sleep } from 'node:timers/promises';
import { codeFromPayload } from '../push/authorization-code.js';
import type { AuthorizerRecord } from '../store/types.js';
import type { CredentialContext } from './context.js';
import { CODE_LIFE_MS } from './exchanges.js';

/**
 * Pauses between looks at the store after WeChat answered 61009/61010 ("code already used"): 3.0 s in all.
 * The instance that won the race commits a moment after WeChat answered it (a store transaction, its
 * queue's turn; ~200 ms observed with two instances on PostgreSQL), so a single look right away misses it
 * now and then. The merchant's browser is waiting on the callback, so the bound stays short: long enough
 * for a slow commit on a loaded database many times over, short enough that a truly used or expired code
 * gets its page promptly. Only the store is read: asking WeChat again would spend quota on an answer that
 * cannot change.
 */
export const USED_CODE_PAUSES_MS: readonly number[] = [100, 200, 400, 800, 1500];

interface CodePush {
  authorizerAppid: string;
  receivedAt: number;
}

/**
 * The authorization another instance (or this one's other path: the callback and the push carry the same
 * code) made with `code`, looked for once right away and again after each pause; undefined if none appeared.
 * Found through the `authorized`/`updateauthorized` push that carried the code: it is stored before any
 * instance exchanges it, and its code is sealed, so it is opened to compare.
 */
export async function awaitExchanged(
  ctx: CredentialContext,
  code: string,
  pauses: readonly number[] = USED_CODE_PAUSES_MS,
): Promise<{ record: AuthorizerRecord; looks: number } | undefined> {
  let push: CodePush | undefined;
  for (let look = 1; ; look++) {
    // The push is found once; later looks only read the authorizer (the push list is decrypted per look).
    push ??= await pushCarrying(ctx, code);
    if (push) {
      const record = await ctx.store.getAuthorizer(ctx.componentAppid, push.authorizerAppid);
      // An authorization older than the code's life was not made with this code.
      if (record?.status === 'authorized' && record.authorizedAt >= push.receivedAt - CODE_LIFE_MS) return { record, looks: look };
    }
    const pause = pauses[look - 1];
    if (pause === undefined) return undefined;
    await sleep(pause);
  }
}

async function pushCarrying(ctx: CredentialContext, code: string): Promise<CodePush | undefined> {
  for (const infoType of ['authorized', 'updateauthorized']) {
    for (const push of await ctx.store.listPushes(ctx.componentAppid, { infoType, limit: 100 })) {
      if (push.authorizerAppid === null) continue;
      let stored: ReturnType<typeof codeFromPayload>;
      try {
        stored = codeFromPayload(push.payload, ctx.box, ctx.componentAppid);
      } catch {
        continue; // sealed with a key no longer configured: not this code's push, or not recoverable
      }
      if (stored?.code === code) return { authorizerAppid: push.authorizerAppid, receivedAt: push.receivedAt };
    }
  }
  return undefined;
}
