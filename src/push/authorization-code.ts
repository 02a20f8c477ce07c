import type { SecretBox } from '../crypto/secret-box.js';
import { parseXml } from '../xml/parse.js';

/**
 * An authorized push's AuthorizationCode as the push log keeps it: sealed like every other credential at rest,
 * so a read of the database (a backup, a replica, the admin API's push list) never yields a code that can still
 * be exchanged for the merchant's tokens. The sweep and the callback's lookup open it again.
 */
export const SEALED_CODE_PREFIX = 'wxopen-sealed:';

/** The secret box's associated data for a code: the same for the push log and the exchange row, so either copy opens alike. */
function codeAad(componentAppid: string): string {
  return `${componentAppid}:code`;
}

export function sealCode(box: SecretBox, componentAppid: string, code: string): string {
  return box.seal(code, codeAad(componentAppid));
}

export function openCode(box: SecretBox, componentAppid: string, sealed: string): string {
  return box.open(sealed, codeAad(componentAppid));
}

const OPEN = '<AuthorizationCode>';
const CLOSE = '</AuthorizationCode>';
/** Real codes are ~100 random characters; a shorter one could occur in other fields and be left there in clear. */
const MIN_CODE_LENGTH = 16;

/**
 * The decrypted push XML with its AuthorizationCode element's content (the code, in CDATA or bare) replaced by
 * `SEALED_CODE_PREFIX` + `sealed` in CDATA. Checked by hand rather than by parsing the result again (a parse was
 * as costly as the push's own): the element must hold exactly the code, and no copy may be left anywhere.
 * Undefined when that does not hold (never seen from WeChat): the caller keeps the push as it came rather than
 * lose it.
 */
export function sealCodeInPayload(xml: string, code: string, sealed: () => string): string | undefined {
  if (code.length < MIN_CODE_LENGTH) return undefined;
  const start = xml.indexOf(OPEN);
  const end = start < 0 ? -1 : xml.indexOf(CLOSE, start);
  if (end < 0) return undefined;
  const inner = xml.slice(start + OPEN.length, end);
  if (inner !== code && inner !== `<![CDATA[${code}]]>`) return undefined;
  const out = `${xml.slice(0, start + OPEN.length)}<![CDATA[${SEALED_CODE_PREFIX}${sealed()}]]>${xml.slice(end)}`;
  return out.includes(code) ? undefined : out;
}

/**
 * A push event's code as sealed for the push log, so its exchange row stores the same ciphertext (the same
 * associated data) instead of sealing the code a second time: one AES-GCM seal per authorization, not two.
 * Keyed by the event object, so nothing is added to the public event type and nothing outlives the event.
 */
export const sealedCodeOf = new WeakMap<object, string>();

/**
 * The code a stored push carried: opened when sealed (`sealed`: its ciphertext, reusable as is), as written for
 * pushes stored before sealing. Throws when it was sealed with a key that is no longer configured.
 */
export function codeFromPayload(xml: string, box: SecretBox, componentAppid: string): { code: string; sealed?: string } | undefined {
  const value = parseXml(xml).AuthorizationCode;
  if (typeof value !== 'string' || value === '') return undefined;
  if (!value.startsWith(SEALED_CODE_PREFIX)) return { code: value };
  const sealed = value.slice(SEALED_CODE_PREFIX.length);
  return { code: openCode(box, componentAppid, sealed), sealed };
}
