import { createCipheriv, createDecipheriv, type Decipher } from 'node:crypto';
import { CryptoError } from '../errors.js';
import { decodeAesKey, type AesKey } from './aes-key.js';
import { fillRandom } from './random-pool.js';

/** WXBizMsgCrypt pads to 32-byte blocks by hand (PKCS#7 with n in 1..32), not to AES's 16. */
const PAD_BLOCK_BYTES = 32;
const RANDOM_BYTES = 16;
const HEADER_BYTES = RANDOM_BYTES + 4;
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface EncryptOptions {
  /** Fixed 16-byte random prefix; only for test vectors. */
  random?: Buffer | string;
}

/**
 * Encrypts `message` for `receiveId` (the component appid):
 * `random16 ‖ uint32_be(byteLength(msg)) ‖ msg ‖ receiveId`, PKCS#7 to 32, AES-256-CBC, base64.
 */
export function encryptMessage(
  message: string,
  encodingAesKey: string | AesKey,
  receiveId: string,
  options: EncryptOptions = {},
): string {
  const { key, iv } = decodeAesKey(encodingAesKey);
  const random = options.random === undefined ? undefined : Buffer.from(options.random);
  if (random !== undefined && random.length !== RANDOM_BYTES) throw new TypeError('[wxopen] random prefix must be 16 bytes');
  const msg = Buffer.from(message, 'utf8');
  const appid = Buffer.from(receiveId, 'utf8');
  const length = HEADER_BYTES + msg.length + appid.length;
  const pad = PAD_BLOCK_BYTES - (length % PAD_BLOCK_BYTES);
  const plain = Buffer.alloc(length + pad, pad);
  if (random === undefined) fillRandom(plain, 0, RANDOM_BYTES);
  else random.copy(plain, 0);
  plain.writeUInt32BE(msg.length, RANDOM_BYTES);
  msg.copy(plain, HEADER_BYTES);
  appid.copy(plain, HEADER_BYTES + msg.length);
  const cipher = createCipheriv('aes-256-cbc', key, iv).setAutoPadding(false);
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}

const ecbDeciphers = new WeakMap<Buffer, Decipher>();

/**
 * AES-256-CBC decryption of whole blocks, without padding removal. Hand-written on one long-lived
 * AES-256-ECB decipher per key because it runs on every push and measured: building a CBC decipher (key
 * schedule, IV, OpenSSL context) per push was about a third of the decrypt. CBC decryption is, by
 * definition, each block's ECB decryption XOR the previous ciphertext block (the IV for the first); an ECB
 * decipher without padding holds no state between calls on whole blocks, so one can serve every push.
 */
function decryptCbc(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  let ecb = ecbDeciphers.get(key);
  // Stryker disable next-line ConditionalExpression: a new decipher per call gives the same bytes (docs/mutation-survivors.md).
  if (ecb === undefined) {
    ecb = createDecipheriv('aes-256-ecb', key, null).setAutoPadding(false);
    ecbDeciphers.set(key, ecb);
  }
  const out = ecb.update(data);
  // Stryker disable next-line EqualityOperator: one index past either end XORs nothing (docs/mutation-survivors.md).
  for (let i = 0; i < 16; i++) out[i]! ^= iv[i]!;
  // Stryker disable next-line EqualityOperator: one index past either end XORs nothing (docs/mutation-survivors.md).
  for (let i = 16; i < out.length; i++) out[i]! ^= data[i - 16]!;
  return out;
}

export interface DecryptedMessage {
  message: string;
  receiveId: string;
}

/**
 * Strict decrypt. Each way a ciphertext can be wrong is its own `CryptoError` reason, so a forged or
 * truncated push is diagnosable from one log line. `expectedReceiveId` (the component appid) is
 * compared exactly; pass `undefined` only to inspect a ciphertext.
 */
export function decryptMessage(
  encrypt: string,
  encodingAesKey: string | AesKey,
  expectedReceiveId: string | undefined,
): DecryptedMessage {
  const { key, iv } = decodeAesKey(encodingAesKey);
  if (encrypt.length === 0 || encrypt.length % 4 !== 0) throw new CryptoError('bad_base64');
  const data = Buffer.from(encrypt, 'base64');
  // Canonical base64 (what WeChat sends) round-trips exactly: one native encode instead of the regex over
  // the whole ciphertext (~8x dearer, measured); anything else still faces the regex, so the accepted set is unchanged.
  if (data.toString('base64') !== encrypt && !STRICT_BASE64.test(encrypt)) throw new CryptoError('bad_base64');
  if (data.length === 0 || data.length % 16 !== 0) throw new CryptoError('bad_block_length', `${data.length} bytes`);
  const plain = decryptCbc(key, iv, data);
  const pad = plain[plain.length - 1]!;
  if (pad < 1 || pad > PAD_BLOCK_BYTES || pad > plain.length) throw new CryptoError('bad_padding');
  for (let i = plain.length - pad; i < plain.length; i++) {
    if (plain[i] !== pad) throw new CryptoError('bad_padding');
  }
  const content = plain.subarray(0, plain.length - pad);
  if (content.length < HEADER_BYTES) throw new CryptoError('bad_length', 'plaintext shorter than its header');
  const msgLength = content.readUInt32BE(RANDOM_BYTES);
  if (msgLength > content.length - HEADER_BYTES) {
    throw new CryptoError('bad_length', `declares ${msgLength} bytes, has ${content.length - HEADER_BYTES}`);
  }
  const message = content.toString('utf8', HEADER_BYTES, HEADER_BYTES + msgLength);
  const receiveId = content.toString('utf8', HEADER_BYTES + msgLength);
  if (expectedReceiveId !== undefined && receiveId !== expectedReceiveId) throw new CryptoError('appid_mismatch');
  return { message, receiveId };
}
