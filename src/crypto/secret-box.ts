import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { WxOpenError } from '../errors.js';
import { fillRandom } from './random-pool.js';

/** A stored secret that cannot be opened: the server can still run, but what needs it cannot until the key is fixed. */
export class SecretBoxError extends WxOpenError {
  readonly code = 'WXO_ERR_SECRET_BOX';
  override readonly statusCode = 503;
}

const VERSION = 'v1';

/**
 * Encrypts secrets at rest (refresh and access tokens) with AES-256-GCM. Each value names the key it
 * was sealed with (`v1.<kid>.<iv>.<tag>.<ciphertext>`), so keys rotate: seal with the first key,
 * open with whichever key the value names. `aad` binds a value to its row (e.g. the authorizer appid),
 * so a ciphertext copied to another row does not decrypt.
 */
export class SecretBox {
  private readonly keys: Map<string, Buffer>;
  private readonly currentKid: string;

  constructor(hexKeys: readonly string[]) {
    if (hexKeys.length === 0) throw new SecretBoxError('at least one secret key is required');
    this.keys = new Map();
    for (const hex of hexKeys) {
      const key = Buffer.from(hex, 'hex');
      if (key.length !== 32) throw new SecretBoxError('secret keys must be 32 bytes (64 hex characters)');
      this.keys.set(keyId(key), key);
    }
    this.currentKid = keyId(Buffer.from(hexKeys[0]!, 'hex'));
  }

  seal(plaintext: string, aad: string): string {
    // From the shared CSPRNG pool: a sealed code per authorization event, and a native call per IV was ~1.5 % of one.
    const iv = Buffer.allocUnsafe(12);
    fillRandom(iv, 0, 12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentKid)!, iv);
    cipher.setAAD(Buffer.from(aad));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, this.currentKid, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  }

  open(sealed: string, aad: string): string {
    const [version, kid, iv, tag, ct] = sealed.split('.');
    if (version !== VERSION || !kid || iv === undefined || tag === undefined || ct === undefined) {
      throw new SecretBoxError('stored secret is not in the v1 sealed format');
    }
    const key = this.keys.get(kid);
    if (!key) throw new SecretBoxError(`stored secret was sealed with key ${kid}, which is not configured: add that old WXOPEN_SECRET_KEY to WXOPEN_PREVIOUS_SECRET_KEYS`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new SecretBoxError('stored secret failed authentication (wrong key or tampered row)', { cause: err });
    }
  }

  /** True when the value was sealed with an older key and should be re-sealed. */
  isStale(sealed: string): boolean {
    return sealed.split('.')[1] !== this.currentKid;
  }
}

/** The id a sealed value names its key by (`v1.<kid>.…`), from the key's 64 hex characters. */
export function secretKeyId(hex: string): string {
  return keyId(Buffer.from(hex, 'hex'));
}

/** The key id a sealed value names, or undefined when it is not in the v1 format. */
export function sealedKeyId(sealed: string): string | undefined {
  const [version, kid] = sealed.split('.');
  return version === VERSION && kid ? kid : undefined;
}

function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}
