import { hash } from 'node:crypto';
import { timeOrderedKey } from '../util/time-key.js';

/**
 * The dedupe key of a push to the authorization-event URL: its CreateTime, then the SHA-1 of its
 * plaintext. A replay or WeChat's retry carries the same plaintext, so the same key; the hash alone
 * decides that, the time in front only orders the store's index (see timeOrderedKey).
 */
export function pushDedupeKey(plaintext: string, createTime: number): string {
  return timeOrderedKey(createTime, hash('sha1', plaintext, 'hex'));
}
