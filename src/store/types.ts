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

/** One verified, decrypted user message or event to the message & event URL (`messages_log`). */
export interface MessageRecord {
  componentAppid: string;
  authorizerAppid: string;
  /** MsgId, or FromUserName+CreateTime+Event for events: a retry has the same key and is stored once. */
  dedupeKey: string;
  /** Routing key: `message.text`, `event.weapp_audit_success`, … */
  type: string;
  fromUser: string;
  createTime: number;
  receivedAt: number;
  /** The decrypted XML as WeChat sent it. */
  payload: string;
}

export interface StoredMessage extends MessageRecord {
  id: number;
}

export interface MessageQuery {
  authorizerAppid?: string;
  /** Exact routing key, or a prefix followed by `*` (`event.*`, `event.weapp_*`). */
  type?: string;
  /** receivedAt >= since (epoch ms). */
  since?: number;
  /** receivedAt < until (epoch ms). */
  until?: number;
  /** Only ids below this (paging backwards). */
  beforeId?: number;
  /** Default 50, at most 1000. */
  limit?: number;
}

export interface MessageStore {
  /** Stores a message once; `duplicate` (nothing written) when its dedupe key is already stored. */
  recordMessage(message: MessageRecord): Promise<'stored' | 'duplicate'>;
  /** Newest first. */
  listMessages(componentAppid: string, query?: MessageQuery): Promise<StoredMessage[]>;
  /**
   * Deletes at most `limit` messages received before `receivedBefore` (oldest first) and returns how
   * many; callers loop in bounded batches so a large backlog never holds one long write.
   */
  pruneMessages(componentAppid: string, receivedBefore: number, limit: number): Promise<number>;
}

export type StoreDialect = 'sqlite' | 'postgres';

/** The one persistence interface; adapters pass `storeContract` in `store/testing`. */
export interface Store extends TicketStore, PushStore, CredentialStore, ExchangeStore, MessageStore, ApiStore, AdminStore, FleetStore {
  readonly dialect: StoreDialect;
  /** Where it is, for messages: `host:port/database` or a file path, never credentials. */
  readonly location?: string;
  /** Applies pending migrations; idempotent and safe to run from several processes at once. */
  migrate(): Promise<void>;
  /** Cheap reachability check for /healthz. */
  ping(): Promise<boolean>;
  /** Writes one tiny row: false when the store is reachable but cannot write (read-only, disk full). */
  probeWrite(at: number): Promise<boolean>;
  /**
   * How many stored sealed values (tokens, refresh tokens, authorization codes, session keys, tickets) name
   * each secret key id (`v1.<kid>.…`), so a start can tell that one was sealed with a key no longer configured.
   * By default only the credentials (component token, authorizers' tokens, jsapi tickets: as many rows as
   * merchants, cheap at every start); `everywhere` adds login sessions, pending codes and the refresh-token log,
   * which grow with use (the doctor and `secrets discard-unreadable`).
   */
  sealedKeyIds(options?: { everywhere?: boolean }): Promise<Record<string, number>>;
  /**
   * Drops the sealed values that name one of `kids` (a lost key): cached tokens, tickets, sessions and pending
   * authorization codes are deleted; an authorizer whose refresh token is dropped becomes `unauthorized` until
   * `wxopen authorizers sync` restores it from api_get_authorizer_list. Returns the count per table.
   */
  discardSealed(kids: readonly string[], at: number): Promise<Record<string, number>>;
  /**
   * Errors on connections nobody is waiting on (a dropped idle PostgreSQL connection, a dead session):
   * reported here instead of crashing the process. Without a listener they are written to stderr.
   */
  onConnectionError?(listener: (err: Error) => void): void;
  close(): Promise<void>;
}

/** An authorization code to exchange (api_query_auth), kept until done, failed or expired. */
export interface ExchangeRecord {
  componentAppid: string;
  /** sha256 of the code: the key, so the code itself is only stored sealed. */
  codeKey: string;
  codeEnc: string;
  authorizerAppid: string | null;
  /** Ordering time (Unix s) of the push that carried the code. */
  eventTime: number;
  receivedAt: number;
  /** The code's end of life (10 min after issue), epoch ms: no attempt after it. */
  expiresAt: number;
  attempts: number;
  nextAttemptAt: number;
  state: 'pending' | 'done' | 'failed';
  lastError: string | null;
}

export interface ExchangeStore {
  /** Records a code to exchange (state pending); a code already recorded keeps its row. True when new. */
  recordExchange(e: Omit<ExchangeRecord, 'attempts' | 'state' | 'lastError'>): Promise<boolean>;
  getExchange(componentAppid: string, codeKey: string): Promise<ExchangeRecord | undefined>;
  /** Pending exchanges whose next attempt is due at `now` (oldest first). */
  dueExchanges(componentAppid: string, now: number, limit: number): Promise<ExchangeRecord[]>;
  updateExchange(
    componentAppid: string,
    codeKey: string,
    update: { state: ExchangeRecord['state']; attempts: number; nextAttemptAt: number; lastError: string | null; at: number },
  ): Promise<void>;
  /** Deletes exchanges that expired before `expiredBefore`; returns how many. */
  pruneExchanges(componentAppid: string, expiredBefore: number): Promise<number>;
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
  /** CreateTime (Unix s) of the event or exchange that last set the authorization state; events older than it are stale. */
  eventTime: number | null;
}

export interface AuthorizationInput {
  componentAppid: string;
  authorizerAppid: string;
  funcInfo: number[];
  refreshTokenEnc: string;
  accessTokenEnc: string | null;
  accessExpiresAt: number | null;
  at: number;
  /**
   * Ordering time (Unix s) of the event that carried this authorization. With it the write applies only
   * if no newer event set the authorizer's state; without it the write is unconditional (time `at`).
   */
  eventTime?: number;
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
   * `saveAuthorization` in event order: `stale` (nothing but the refresh-token log written) when the row
   * was set by an event newer than `input.eventTime`. One conditional statement, so racing events agree.
   */
  applyAuthorization(input: AuthorizationInput): Promise<{ outcome: 'applied' | 'stale'; record: AuthorizerRecord }>;
  /**
   * An `unauthorized` event: status `unauthorized`, tokens deleted, only if no newer event (by
   * `eventTime`, Unix s) set the state. `unknown` when there is no row.
   */
  revokeAuthorization(componentAppid: string, authorizerAppid: string, eventTime: number, reason: string, at: number): Promise<'revoked' | 'stale' | 'unknown'>;
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

/** A mini-program login session: `session_key` stays here, sealed; the client holds only `sessionId`. */
export interface LoginSessionRecord {
  componentAppid: string;
  sessionId: string;
  authorizerAppid: string;
  openid: string;
  unionid: string | null;
  sessionKeyEnc: string;
  createdAt: number;
  expiresAt: number;
}

/** A jsapi_ticket of one authorizer, sealed. */
export interface JsapiTicketRecord {
  componentAppid: string;
  authorizerAppid: string;
  ticketEnc: string;
  expiresAt: number;
  obtainedAt: number;
}

/** Login sessions, jsapi tickets and the JS-SDK domains an authorizer may sign for. */
export interface ApiStore {
  saveLoginSession(record: LoginSessionRecord): Promise<void>;
  getLoginSession(componentAppid: string, sessionId: string): Promise<LoginSessionRecord | undefined>;
  deleteLoginSession(componentAppid: string, sessionId: string): Promise<boolean>;
  /** Deletes sessions that expired before `before` (epoch ms); returns how many. */
  pruneLoginSessions(componentAppid: string, before: number): Promise<number>;
  getJsapiTicket(componentAppid: string, authorizerAppid: string): Promise<JsapiTicketRecord | undefined>;
  saveJsapiTicket(record: JsapiTicketRecord): Promise<void>;
  /** Deletes the stored ticket only if it is still the one obtained at `obtainedAt`. */
  invalidateJsapiTicket(componentAppid: string, authorizerAppid: string, obtainedAt: number): Promise<boolean>;
  getJssdkDomains(componentAppid: string, authorizerAppid: string): Promise<string[]>;
  setJssdkDomains(componentAppid: string, authorizerAppid: string, domains: string[], at: number): Promise<void>;
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

/** A deploy job (src/fleet): one template version to many mini programs. Times are epoch ms. */
export interface FleetJobRecord {
  componentAppid: string;
  jobId: string;
  templateId: number;
  userVersion: string;
  userDesc: string;
  /** The job's resolved options (src/fleet/model.ts), stored as JSON. */
  options: Record<string, unknown>;
  status: 'running' | 'paused' | 'done' | 'cancelled';
  pause: { code: string; errcode?: number; message: string; at: number } | null;
  total: number;
  createdBy: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/** One merchant of a job: its state machine row. `version` guards every write (compare-and-set). */
export interface FleetTargetRecord {
  componentAppid: string;
  jobId: string;
  appid: string;
  state: string;
  extJson: string;
  auditid: number | null;
  reason: string | null;
  errcode: number | null;
  errmsg: string | null;
  errorStep: string | null;
  /** The step whose WeChat call may be in flight (recorded before the call). */
  intent: string | null;
  intentAt: number | null;
  /** Until when the runner that set `intent` owns the row. */
  leaseUntil: number | null;
  /** When a runner should next look at the row; null: nothing to do (final, or waiting for an operator). */
  nextAt: number | null;
  attempts: number;
  version: number;
  updatedAt: number;
}

export type FleetTargetPatch = Partial<Omit<FleetTargetRecord, 'componentAppid' | 'jobId' | 'appid' | 'version'>>;

export interface FleetStore {
  /** The job and all its targets in one transaction. */
  createFleetJob(job: FleetJobRecord, targets: FleetTargetRecord[]): Promise<void>;
  getFleetJob(componentAppid: string, jobId: string): Promise<FleetJobRecord | undefined>;
  /** Newest first. */
  listFleetJobs(componentAppid: string, options?: { limit?: number; status?: FleetJobRecord['status'] }): Promise<FleetJobRecord[]>;
  /** Applies `patch` when the job's status is one of `expectStatus` (any when omitted); false when not. */
  updateFleetJob(
    componentAppid: string,
    jobId: string,
    patch: Partial<Pick<FleetJobRecord, 'status' | 'pause' | 'updatedAt' | 'finishedAt'>>,
    expectStatus?: ReadonlyArray<FleetJobRecord['status']>,
  ): Promise<boolean>;
  getFleetTarget(componentAppid: string, jobId: string, appid: string): Promise<FleetTargetRecord | undefined>;
  /** Appid order. */
  listFleetTargets(componentAppid: string, jobId: string, options?: { states?: readonly string[]; limit?: number; offset?: number }): Promise<FleetTargetRecord[]>;
  countFleetTargets(componentAppid: string, jobId: string): Promise<Record<string, number>>;
  /** Compare-and-set on `version`: the updated row (version + 1), or undefined when someone else wrote first. */
  updateFleetTarget(componentAppid: string, jobId: string, appid: string, expectedVersion: number, patch: FleetTargetPatch): Promise<FleetTargetRecord | undefined>;
  /** Targets of running jobs with `nextAt <= now` whose lease (if any) has run out, earliest first. */
  dueFleetTargets(componentAppid: string, now: number, limit: number): Promise<FleetTargetRecord[]>;
  /** One merchant's targets in these states, across jobs (audit results name only the appid). */
  findFleetTargetsByAppid(componentAppid: string, appid: string, states: readonly string[]): Promise<FleetTargetRecord[]>;
  /** Per-authorizer ext_json for deploys (a JSON string). */
  setFleetExtJson(componentAppid: string, appid: string, extJson: string, at: number): Promise<void>;
  getFleetExtJson(componentAppid: string, appid: string): Promise<string | undefined>;
  deleteFleetExtJson(componentAppid: string, appid: string): Promise<boolean>;
  listFleetExtJson(componentAppid: string): Promise<Array<{ appid: string; extJson: string; updatedAt: number }>>;
}
