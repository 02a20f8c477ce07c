/** The latest component_verify_ticket of one component. */
export interface StoredTicket {
  componentAppid: string;
  ticket: string;
  /** WeChat's CreateTime of the push, Unix seconds. */
  createTime: number;
  /** When we received it, epoch ms. */
  receivedAt: number;
}

/** One verified, decrypted push to the authorization-event URL. */
export interface PushRecord {
  componentAppid: string;
  /** Identifies the content: a replayed or retried push has the same key and is processed once. */
  dedupeKey: string;
  infoType: string;
  authorizerAppid: string | null;
  createTime: number;
  receivedAt: number;
  /** The decrypted XML as WeChat sent it. */
  payload: string;
}

export interface StoredPush extends PushRecord {
  id: number;
}

/** What became of a ticket push: `superseded` when a newer ticket (by CreateTime) is already stored. */
export type TicketOutcome = 'stored' | 'duplicate' | 'superseded';

/** Why a ticket the upsert left unwritten was not news, from the CreateTime now stored. */
export function unwrittenTicketOutcome(storedCreateTime: number | undefined, createTime: number): TicketOutcome {
  return storedCreateTime !== undefined && storedCreateTime > createTime ? 'superseded' : 'duplicate';
}

export interface TicketStore {
  getTicket(componentAppid: string): Promise<StoredTicket | undefined>;
  /**
   * Keeps the newest ticket per component (latest CreateTime wins; at an equal CreateTime a different
   * ticket replaces the stored one). The stored row is the dedupe record: a replay of the stored push
   * changes nothing and is `duplicate`. Ticket pushes are not kept as push history: only the newest
   * one is ever used, and at one every 10 minutes they would bury the events worth reading.
   */
  recordTicket(ticket: StoredTicket): Promise<TicketOutcome>;
}

export interface PushStore {
  /**
   * Records an authorization-event push once. Returns `duplicate` (and writes nothing) when a push with
   * the same dedupe key was recorded before.
   */
  recordPush(push: PushRecord): Promise<'stored' | 'duplicate'>;
  listPushes(componentAppid: string, options?: { limit?: number; infoType?: string }): Promise<StoredPush[]>;
  /** Deletes pushes received before `receivedBefore` (epoch ms); returns how many. */
  prunePushes(componentAppid: string, receivedBefore: number): Promise<number>;
}

export type StoreDialect = 'sqlite' | 'postgres';

/** The one persistence interface; adapters pass `storeContract` in `store/testing`. */
export interface Store extends TicketStore, PushStore, CredentialStore, AdminStore {
  readonly dialect: StoreDialect;
  /** Applies pending migrations; idempotent and safe to run from several processes at once. */
  migrate(): Promise<void>;
  /** Cheap reachability check for /healthz. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** A component_access_token as stored: the token itself sealed by the SecretBox. */
export interface ComponentTokenRecord {
  componentAppid: string;
  tokenEnc: string;
  expiresAt: number;
  obtainedAt: number;
}

/** `missing_upstream`: WeChat's api_get_authorizer_list no longer lists it (set by reconciliation). */
export type AuthorizerStatus = 'authorized' | 'needs_reauthorization' | 'unauthorized' | 'missing_upstream';

export interface AuthorizerRecord {
  componentAppid: string;
  authorizerAppid: string;
  status: AuthorizerStatus;
  statusReason: string | null;
  /** Granted permission-set ids (func_info[].funcscope_category.id). */
  funcInfo: number[];
  refreshTokenEnc: string | null;
  accessTokenEnc: string | null;
  accessExpiresAt: number | null;
  /** Bumped by every write; compare-and-set guard for token refreshes. */
  version: number;
  authorizedAt: number;
  updatedAt: number;
  info: Record<string, unknown> | null;
}

export interface AuthorizationInput {
  componentAppid: string;
  authorizerAppid: string;
  funcInfo: number[];
  refreshTokenEnc: string;
  accessTokenEnc: string | null;
  accessExpiresAt: number | null;
  at: number;
}

export interface RefreshedTokensInput {
  componentAppid: string;
  authorizerAppid: string;
  /** The version read before calling WeChat; the write happens only if it is unchanged. */
  expectedVersion: number;
  refreshTokenEnc: string;
  accessTokenEnc: string;
  accessExpiresAt: number;
  at: number;
}

export interface LoggedRefreshToken {
  refreshTokenEnc: string;
  source: string;
  createdAt: number;
}

export interface CredentialStore {
  getComponentToken(componentAppid: string): Promise<ComponentTokenRecord | undefined>;
  saveComponentToken(record: ComponentTokenRecord): Promise<void>;
  /** Deletes the stored token only if it is still the one obtained at `obtainedAt`. */
  invalidateComponentToken(componentAppid: string, obtainedAt: number): Promise<boolean>;

  getAuthorizer(componentAppid: string, authorizerAppid: string): Promise<AuthorizerRecord | undefined>;
  listAuthorizers(
    componentAppid: string,
    options?: { status?: AuthorizerStatus; accessExpiringBefore?: number; after?: string; limit?: number },
  ): Promise<AuthorizerRecord[]>;
  countAuthorizers(componentAppid: string): Promise<Record<AuthorizerStatus, number>>;
  /** (Re-)authorization: replaces tokens and func_info, status `authorized`, logs the refresh token. */
  saveAuthorization(input: AuthorizationInput): Promise<AuthorizerRecord>;
  /**
   * Writes a refresh's result if the row is still at `expectedVersion`. The refresh token is appended to
   * the log in the same transaction whether or not the row is updated, so it is never dropped.
   */
  saveRefreshedTokens(input: RefreshedTokensInput): Promise<'saved' | 'conflict'>;
  /** Replaces only the refresh token (e.g. recovered from api_get_authorizer_list) if the version matches. */
  replaceRefreshToken(componentAppid: string, authorizerAppid: string, expectedVersion: number, refreshTokenEnc: string, source: string, at: number): Promise<boolean>;
  /** Clears the access token only if the row is still at `version` (the token that failed). */
  invalidateAuthorizerAccessToken(componentAppid: string, authorizerAppid: string, version: number): Promise<boolean>;
  /** `unauthorized` also deletes both tokens. */
  setAuthorizerStatus(componentAppid: string, authorizerAppid: string, status: AuthorizerStatus, reason: string | null, at: number): Promise<void>;
  updateAuthorizerInfo(componentAppid: string, authorizerAppid: string, info: Record<string, unknown>, at: number): Promise<void>;
  recentRefreshTokens(componentAppid: string, authorizerAppid: string, limit: number): Promise<LoggedRefreshToken[]>;
}

/**
 * An operator credential, stored as a SHA-256 of its secret only. The operator's own token is the
 * reserved key id `operator`; API keys for the operator's services carry scopes and optionally a list
 * of the authorizers they may read.
 */
export interface ApiKeyRecord {
  componentAppid: string;
  keyId: string;
  name: string;
  /** Hex SHA-256 of the secret part. */
  secretHash: string;
  scopes: string[];
  /** `null`: every authorizer. */
  authorizers: string[] | null;
  createdAt: number;
  revokedAt: number | null;
}

/** Who did what through the operator surface (token reads, forced refreshes, keys, links). */
export interface AuditRecord {
  componentAppid: string;
  at: number;
  keyId: string;
  action: string;
  target: string | null;
  detail: string | null;
}

export interface StoredAudit extends AuditRecord {
  id: number;
}

export interface AdminStore {
  /** Inserts a key; `false` (nothing written) when the key id exists. */
  createApiKey(record: ApiKeyRecord): Promise<boolean>;
  getApiKey(componentAppid: string, keyId: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(componentAppid: string): Promise<ApiKeyRecord[]>;
  /** Marks the key revoked; `false` when there is no such unrevoked key. */
  revokeApiKey(componentAppid: string, keyId: string, at: number): Promise<boolean>;
  /** Replaces a key's secret hash (e.g. the operator token, reset from the CLI) and un-revokes it. */
  replaceApiKeySecret(componentAppid: string, keyId: string, secretHash: string, at: number): Promise<boolean>;
  recordAudit(record: AuditRecord): Promise<void>;
  listAudit(componentAppid: string, options?: { limit?: number; keyId?: string; action?: string; target?: string }): Promise<StoredAudit[]>;
}
