import { secretKeyId } from '../crypto/secret-box.js';
import type { Store } from '../store/types.js';

export interface UnconfiguredSealKey {
  kid: string;
  /** How many stored values it sealed. */
  count: number;
}

/**
 * Key ids that stored secrets were sealed with but that neither WXOPEN_SECRET_KEY nor
 * WXOPEN_PREVIOUS_SECRET_KEYS is. Without this check a forgotten previous key only shows as every token
 * read failing while /healthz and the status page still say ok.
 */
export async function unconfiguredSealKeys(store: Store, secretKeys: readonly string[], options: { everywhere?: boolean } = {}): Promise<UnconfiguredSealKey[]> {
  const configured = new Set(secretKeys.map(secretKeyId));
  const stored = await store.sealedKeyIds(options);
  return Object.entries(stored)
    .filter(([kid]) => !configured.has(kid))
    .map(([kid, count]) => ({ kid, count }))
    .sort((a, b) => a.kid.localeCompare(b.kid));
}

/** The one line a refused start and the doctor print (after the variable name). */
export function unconfiguredSealKeysProblem(found: readonly UnconfiguredSealKey[], secretKeys: readonly string[]): string {
  const list = found.map((f) => `${f.kid} (${f.count} value${f.count === 1 ? '' : 's'})`).join(', ');
  return (
    `stored secrets were sealed with key${found.length === 1 ? '' : 's'} ${list}, not configured (configured: ${secretKeys.map(secretKeyId).join(', ')}): ` +
    'add the old WXOPEN_SECRET_KEY to WXOPEN_PREVIOUS_SECRET_KEYS (its id is the first 8 hex of sha256 of its bytes); ' +
    'if that key is truly lost, run `wxopen secrets discard-unreadable` (see README, "Secret key rotation")'
  );
}
