import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyRecord, Store } from '../store/types.js';

/** What an operator credential may do. The operator's own token has all of them, and manages keys. */
export const SCOPES = [
  'authorizers:read',
  'authorizers:write',
  'tokens:read',
  'links:create',
  'pushes:read',
  'status:read',
  'reconcile',
  'metrics',
  'templates:read',
  'templates:write',
  'deploy:read',
  'deploy:write',
] as const;
export type Scope = (typeof SCOPES)[number];

/** The reserved key id of the operator's token in `admin_api_keys`. */
export const OPERATOR_KEY_ID = 'operator';

export interface Principal {
  keyId: string;
  operator: boolean;
  scopes: ReadonlySet<string>;
  /** `null`: every authorizer. */
  authorizers: readonly string[] | null;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Hex digests of equal length compared in constant time (a secret's hash, never the secret itself). */
function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === 32 && y.length === 32 && timingSafeEqual(x, y);
}

export function newOperatorToken(): string {
  return `wxo_admin_${randomBytes(24).toString('base64url')}`;
}

const KEY_RE = /^wxok_(k[0-9a-f]{10})_([A-Za-z0-9_-]{43})$/;

export function canRead(p: Principal, authorizerAppid: string): boolean {
  return p.authorizers === null || p.authorizers.includes(authorizerAppid);
}

export function allows(p: Principal, scope: Scope): boolean {
  return p.operator || p.scopes.has(scope);
}

/**
 * How long an instance trusts the operator token's stored hash before reading it again: `wxopen admin reset-token`
 * (from any process) locks the old token out of every running instance within this, and an anonymous flood of
 * bearer tokens costs at most one store read per interval.
 */
export const OPERATOR_HASH_TTL_MS = 2000;

/**
 * Resolves bearer tokens to principals. The operator token is compared by hash (configured value or the
 * hash stored at first start); API keys are `wxok_<id>_<secret>`, looked up by id and compared by hash.
 * Every failure is the same `undefined`, so a caller learns nothing about why.
 */
export class AdminAuth {
  private operatorHash: string | undefined;
  /** Whether the hash lives in the store (so another process may replace it), and when it was last read. */
  private stored = false;
  private readAt = 0;
  private reading: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly componentAppid: string,
    private readonly now: () => number,
  ) {}

  /**
   * Makes sure an operator token exists: the configured one, else the stored hash, else a new token
   * whose hash is stored; the new token is returned (to print once) only to the process that created it.
   */
  async init(configured: string | undefined, options: { persist: boolean }): Promise<{ generated?: string; source: 'config' | 'stored' | 'generated' | 'ephemeral' }> {
    if (configured !== undefined) {
      this.operatorHash = hashSecret(configured);
      return { source: 'config' };
    }
    if (options.persist) {
      const stored = await this.store.getApiKey(this.componentAppid, OPERATOR_KEY_ID);
      if (stored && stored.revokedAt === null) {
        this.useStored(stored.secretHash);
        return { source: 'stored' };
      }
    }
    const token = newOperatorToken();
    if (!options.persist) {
      this.operatorHash = hashSecret(token);
      return { generated: token, source: 'ephemeral' };
    }
    const record: ApiKeyRecord = {
      componentAppid: this.componentAppid,
      keyId: OPERATOR_KEY_ID,
      name: 'operator',
      secretHash: hashSecret(token),
      scopes: ['*'],
      authorizers: null,
      createdAt: this.now(),
      revokedAt: null,
    };
    const created =
      (await this.store.createApiKey(record)) ||
      (await this.store.replaceApiKeySecret(this.componentAppid, OPERATOR_KEY_ID, record.secretHash, record.createdAt).then(async (replaced) => {
        // Another instance created it at the same moment: use theirs, print nothing.
        if (!replaced) return false;
        return (await this.store.getApiKey(this.componentAppid, OPERATOR_KEY_ID))?.secretHash === record.secretHash;
      }));
    if (!created) {
      this.useStored((await this.store.getApiKey(this.componentAppid, OPERATOR_KEY_ID))?.secretHash);
      return { source: 'stored' };
    }
    this.useStored(record.secretHash);
    return { generated: token, source: 'generated' };
  }

  private useStored(hash: string | undefined): void {
    this.operatorHash = hash;
    this.stored = true;
    this.readAt = this.now();
  }

  /**
   * Re-reads a stored operator token's hash once it is older than `OPERATOR_HASH_TTL_MS`; call before
   * `isOperatorToken`/`operatorFingerprint`. A store that cannot be read keeps the last hash (the admin stays
   * usable while the database is away; nothing can reset the token meanwhile either).
   */
  refresh(): Promise<void> {
    if (!this.stored || this.now() - this.readAt < OPERATOR_HASH_TTL_MS) return Promise.resolve();
    this.reading ??= this.store
      .getApiKey(this.componentAppid, OPERATOR_KEY_ID)
      .then((k) => this.useStored(k && k.revokedAt === null ? k.secretHash : undefined))
      .catch(() => undefined)
      .finally(() => (this.reading = undefined));
    return this.reading;
  }

  /** A short fingerprint of the operator token: sessions name it, so resetting the token ends them. */
  operatorFingerprint(): string {
    return (this.operatorHash ?? '').slice(0, 16);
  }

  isOperatorToken(presented: string): boolean {
    return this.operatorHash !== undefined && sameHash(hashSecret(presented), this.operatorHash);
  }

  async authenticate(bearer: string | undefined): Promise<Principal | undefined> {
    if (!bearer || bearer.length > 512) return undefined;
    await this.refresh();
    if (this.isOperatorToken(bearer)) return { keyId: OPERATOR_KEY_ID, operator: true, scopes: new Set(SCOPES), authorizers: null };
    const m = KEY_RE.exec(bearer);
    if (!m) return undefined;
    const key = await this.store.getApiKey(this.componentAppid, m[1]!);
    if (!key || key.revokedAt !== null || !sameHash(hashSecret(m[2]!), key.secretHash)) return undefined;
    return { keyId: key.keyId, operator: false, scopes: new Set(key.scopes), authorizers: key.authorizers };
  }

  async createKey(input: { name: string; scopes: Scope[]; authorizers: string[] | null }): Promise<{ key: string; record: ApiKeyRecord }> {
    const keyId = `k${randomBytes(5).toString('hex')}`;
    const secret = randomBytes(32).toString('base64url');
    const record: ApiKeyRecord = {
      componentAppid: this.componentAppid,
      keyId,
      name: input.name,
      secretHash: hashSecret(secret),
      scopes: [...new Set(input.scopes)],
      authorizers: input.authorizers,
      createdAt: this.now(),
      revokedAt: null,
    };
    if (!(await this.store.createApiKey(record))) throw new Error('key id collision, try again');
    return { key: `wxok_${keyId}_${secret}`, record };
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    return (await this.store.listApiKeys(this.componentAppid)).filter((k) => k.keyId !== OPERATOR_KEY_ID);
  }

  revokeKey(keyId: string): Promise<boolean> {
    if (keyId === OPERATOR_KEY_ID) return Promise.resolve(false);
    return this.store.revokeApiKey(this.componentAppid, keyId, this.now());
  }

  /** `wxopen admin reset-token`: a new operator token replaces the stored hash. */
  async resetOperatorToken(): Promise<string> {
    const token = newOperatorToken();
    const hash = hashSecret(token);
    const ok =
      (await this.store.replaceApiKeySecret(this.componentAppid, OPERATOR_KEY_ID, hash, this.now())) ||
      (await this.store.createApiKey({ componentAppid: this.componentAppid, keyId: OPERATOR_KEY_ID, name: 'operator', secretHash: hash, scopes: ['*'], authorizers: null, createdAt: this.now(), revokedAt: null }));
    if (!ok) throw new Error('could not store the operator token');
    this.useStored(hash);
    return token;
  }
}

/** The public shape of a key (never its hash). */
export function keyView(k: ApiKeyRecord): Record<string, unknown> {
  return {
    id: k.keyId,
    name: k.name,
    scopes: k.scopes,
    authorizers: k.authorizers,
    created_at: new Date(k.createdAt).toISOString(),
    revoked_at: k.revokedAt === null ? null : new Date(k.revokedAt).toISOString(),
  };
}
