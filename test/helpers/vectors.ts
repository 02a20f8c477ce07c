import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The official vectors live in ../shared beside the repo (CI clones it there too); WXOPEN_VECTORS_PATH overrides it
 * (the mutation run tests a copy of the repo in .stryker-tmp/, which has no ../shared beside it).
 */
export const VECTORS_PATH =
  process.env.WXOPEN_VECTORS_PATH ?? fileURLToPath(new URL('../../../shared/vectors/crypto-vectors.json', import.meta.url));

export interface DecryptVector {
  id: string;
  token: string;
  encoding_aes_key: string;
  appid: string;
  timestamp: string;
  nonce: string;
  encrypt: string;
  expected_msg_signature: string;
  expected_contains: string[];
  derived_plaintext?: string;
}
export interface EncryptVector {
  id: string;
  token: string;
  encoding_aes_key: string;
  appid: string;
  random_prefix: string;
  plaintext: string;
  expected_encrypt: string;
  timestamp?: string;
  nonce?: string;
  expected_msg_signature?: string;
}
export interface NegativeVector {
  id: string;
  expect: 'signature_mismatch' | 'appid_mismatch';
  token: string;
  encoding_aes_key?: string;
  appid?: string;
  timestamp: string;
  nonce: string;
  encrypt: string;
  msg_signature: string;
}
export interface JssdkVector {
  id: string;
  jsapi_ticket: string;
  noncestr: string;
  timestamp: string;
  url: string;
  expected_string1: string;
  expected_signature: string;
}
export interface OpenDataVector {
  id: string;
  appid: string;
  session_key: string;
  iv: string;
  encrypted_data: string;
  expected_json: Record<string, unknown>;
}
export interface Vectors {
  decrypt_vectors: DecryptVector[];
  encrypt_vectors: EncryptVector[];
  negative_vectors: NegativeVector[];
  jssdk_signature_vectors: JssdkVector[];
  open_data_vectors: OpenDataVector[];
}

export const vectors = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as Vectors;
