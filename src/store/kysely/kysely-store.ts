import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { unwrittenTicketOutcome } from '../types.js';
import type {
  ApiKeyRecord,
  FleetJobRecord,
  FleetTargetPatch,
  FleetTargetRecord,
  AuditRecord,
  StoredAudit,
  AuthorizationInput,
  AuthorizerRecord,
  AuthorizerStatus,
  ComponentTokenRecord,
  ExchangeRecord,
  JsapiTicketRecord,
  LoginSessionRecord,
  LoggedRefreshToken,
  MessageQuery,
  MessageRecord,
  PushRecord,
  RefreshedTokensInput,
  Store,
  StoreDialect,
  StoredMessage,
  StoredPush,
  StoredTicket,
  TicketOutcome,
} from '../types.js';
import * as api from './api-queries.js';
import * as q from './credential-queries.js';
import * as x from './exchange-queries.js';
import * as admin from './admin-queries.js';
import * as fleet from './fleet-queries.js';
import { createMigrator } from './migrator.js';
import type { Database } from './schema.js';

/** One implementation for both dialects; only connection setup differs (sqlite.ts, postgres.ts). */
/** Every column holding a SecretBox value (`v1.<kid>.<iv>.<tag>.<ciphertext>`). */
const SEALED_COLUMNS: ReadonlyArray<readonly [keyof Database, string]> = [
  ['component_tokens', 'token_enc'],
  ['authorizers', 'refresh_token_enc'],
  ['authorizers', 'access_token_enc'],
  ['refresh_token_log', 'refresh_token_enc'],
  ['creds_exchanges', 'code_enc'],
  ['api_login_sessions', 'session_key_enc'],
  ['api_jsapi_tickets', 'ticket_enc'],
];
/** The columns bounded by the number of merchants, read at every start; sessions, codes and the log grow with use. */
const CREDENTIAL_COLUMNS = SEALED_COLUMNS.filter(([table]) => table === 'component_tokens' || table === 'authorizers' || table === 'api_jsapi_tickets');

export class KyselyStore implements Store {
  private readonly errorListeners: ((err: Error) => void)[] = [];
  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: StoreDialect,
    readonly location?: string,
  ) {}

  onConnectionError(listener: (err: Error) => void): void {
    this.errorListeners.push(listener);
  }

  /** Called by the adapter for errors no query is waiting on; never throws. */
  reportConnectionError(err: Error): void {
    if (this.errorListeners.length === 0) {
      process.stderr.write(`[wxopen] ${this.dialect} connection error (the pool replaces the connection): ${err.message}\n`);
      return;
    }
    for (const l of this.errorListeners) {
      try {
        l(err);
      } catch {
        // A listener's own failure must not turn a handled connection error into a crash.
      }
    }
  }

  async probeWrite(at: number): Promise<boolean> {
    try {
      await this.db
        .insertInto('creds_health')
        .values({ id: 'probe', at })
        .onConflict((oc) => oc.column('id').doUpdateSet({ at }))
        .execute();
      return true;
    } catch {
      return false;
    }
  }

  async sealedKeyIds(options: { everywhere?: boolean } = {}): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const [table, column] of options.everywhere ? SEALED_COLUMNS : CREDENTIAL_COLUMNS) {
      const rows = await sql<{ kid: string; n: number | string }>`select substr(${sql.ref(column)}, 4, 8) as kid, count(*) as n from ${sql.table(table)} where ${sql.ref(column)} like 'v1.%' group by substr(${sql.ref(column)}, 4, 8)`.execute(this.db);
      for (const r of rows.rows) counts[r.kid] = (counts[r.kid] ?? 0) + Number(r.n);
    }
    return counts;
  }

  async discardSealed(kids: readonly string[], at: number): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    if (kids.length === 0) return counts;
    const named = (column: string) => sql<boolean>`substr(${sql.ref(column)}, 4, 8) in (${sql.join(kids.map((k) => sql.lit(k)))})`;
    await this.db.transaction().execute(async (trx) => {
      const lost = await trx
        .updateTable('authorizers')
        .set((eb) => ({ status: 'unauthorized', status_reason: 'refresh token sealed with a lost secret key: run wxopen authorizers sync', refresh_token_enc: null, access_token_enc: null, access_expires_at: null, version: eb('version', '+', 1), updated_at: at }))
        .where(named('refresh_token_enc'))
        .executeTakeFirst();
      counts['authorizers.refresh_token_enc'] = Number(lost.numUpdatedRows);
      const access = await trx
        .updateTable('authorizers')
        .set((eb) => ({ access_token_enc: null, access_expires_at: null, version: eb('version', '+', 1) }))
        .where(named('access_token_enc'))
        .executeTakeFirst();
      counts['authorizers.access_token_enc'] = Number(access.numUpdatedRows);
      for (const [table, column] of SEALED_COLUMNS) {
        if (table === 'authorizers') continue;
        const r = await sql`delete from ${sql.table(table)} where ${named(column)}`.execute(trx);
        counts[`${table}.${column}`] = Number(r.numAffectedRows ?? 0);
      }
    });
    return counts;
  }

  async migrate(): Promise<void> {
    const migrator = await createMigrator(this.db, this.dialect);
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
      throw new Error(`[wxopen] database migration ${failed} failed: ${String(error)}`, { cause: error });
    }
  }

  async ping(): Promise<boolean> {
    try {
      await sql`select 1`.execute(this.db);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  async getTicket(componentAppid: string): Promise<StoredTicket | undefined> {
    const row = await this.db
      .selectFrom('component_tickets')
      .selectAll()
      .where('component_appid', '=', componentAppid)
      .executeTakeFirst();
    return row && {
      componentAppid: row.component_appid,
      ticket: row.ticket,
      createTime: Number(row.create_time),
      receivedAt: Number(row.received_at),
    };
  }

  async recordTicket(ticket: StoredTicket): Promise<TicketOutcome> {
    const written = await this.db
      .insertInto('component_tickets')
      .values({
        component_appid: ticket.componentAppid,
        ticket: ticket.ticket,
        create_time: ticket.createTime,
        received_at: ticket.receivedAt,
      })
      .onConflict((oc) =>
        oc
          .column('component_appid')
          .doUpdateSet((eb) => ({
            ticket: eb.ref('excluded.ticket'),
            create_time: eb.ref('excluded.create_time'),
            received_at: eb.ref('excluded.received_at'),
          }))
          // One statement, so concurrent deliveries of one push serialize on the row and one wins.
          .where((eb) =>
            eb.or([
              eb('excluded.create_time', '>', eb.ref('component_tickets.create_time')),
              eb.and([
                eb('excluded.create_time', '=', eb.ref('component_tickets.create_time')),
                eb('excluded.ticket', '<>', eb.ref('component_tickets.ticket')),
              ]),
            ]),
          ),
      )
      .returning('component_appid')
      .executeTakeFirst();
    if (written) return 'stored';
    return unwrittenTicketOutcome((await this.getTicket(ticket.componentAppid))?.createTime, ticket.createTime);
  }

  async recordPush(push: PushRecord): Promise<'stored' | 'duplicate'> {
    const inserted = await this.db
      .insertInto('push_events')
      .values({
        component_appid: push.componentAppid,
        dedupe_key: push.dedupeKey,
        info_type: push.infoType,
        authorizer_appid: push.authorizerAppid,
        create_time: push.createTime,
        received_at: push.receivedAt,
        payload: push.payload,
      })
      .onConflict((oc) => oc.columns(['component_appid', 'dedupe_key']).doNothing())
      .returning('id')
      .executeTakeFirst();
    return inserted ? 'stored' : 'duplicate';
  }

  async listPushes(
    componentAppid: string,
    options: { limit?: number; infoType?: string } = {},
  ): Promise<StoredPush[]> {
    let q = this.db
      .selectFrom('push_events')
      .selectAll()
      .where('component_appid', '=', componentAppid)
      .orderBy('id', 'desc')
      .limit(options.limit ?? 50);
    if (options.infoType !== undefined) q = q.where('info_type', '=', options.infoType);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: Number(r.id),
      componentAppid: r.component_appid,
      dedupeKey: r.dedupe_key,
      infoType: r.info_type,
      authorizerAppid: r.authorizer_appid,
      createTime: Number(r.create_time),
      receivedAt: Number(r.received_at),
      payload: r.payload,
    }));
  }

  async prunePushes(componentAppid: string, receivedBefore: number): Promise<number> {
    const r = await this.db
      .deleteFrom('push_events')
      .where('component_appid', '=', componentAppid)
      .where('received_at', '<', receivedBefore)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async recordMessage(m: MessageRecord): Promise<'stored' | 'duplicate'> {
    const inserted = await this.db
      .insertInto('messages_log')
      .values({
        component_appid: m.componentAppid,
        authorizer_appid: m.authorizerAppid,
        dedupe_key: m.dedupeKey,
        type: m.type,
        from_user: m.fromUser,
        create_time: m.createTime,
        received_at: m.receivedAt,
        payload: m.payload,
      })
      .onConflict((oc) => oc.columns(['component_appid', 'dedupe_key']).doNothing())
      .returning('id')
      .executeTakeFirst();
    return inserted ? 'stored' : 'duplicate';
  }

  async listMessages(componentAppid: string, query: MessageQuery = {}): Promise<StoredMessage[]> {
    let q = this.db
      .selectFrom('messages_log')
      .selectAll()
      .where('component_appid', '=', componentAppid)
      .orderBy('id', 'desc')
      .limit(Math.min(Math.max(query.limit ?? 50, 1), 1000));
    if (query.authorizerAppid !== undefined) q = q.where('authorizer_appid', '=', query.authorizerAppid);
    if (query.type !== undefined) {
      const prefix = query.type.endsWith('*') ? query.type.slice(0, -1) : undefined;
      // substr, not LIKE: no escaping of `_` in type names, and the same in both dialects.
      q = prefix === undefined ? q.where('type', '=', query.type) : q.where(sql<string>`substr(type, 1, ${prefix.length})`, '=', prefix);
    }
    if (query.since !== undefined) q = q.where('received_at', '>=', query.since);
    if (query.until !== undefined) q = q.where('received_at', '<', query.until);
    if (query.beforeId !== undefined) q = q.where('id', '<', query.beforeId);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: Number(r.id),
      componentAppid: r.component_appid,
      authorizerAppid: r.authorizer_appid,
      dedupeKey: r.dedupe_key,
      type: r.type,
      fromUser: r.from_user,
      createTime: Number(r.create_time),
      receivedAt: Number(r.received_at),
      payload: r.payload,
    }));
  }

  async pruneMessages(componentAppid: string, receivedBefore: number, limit: number): Promise<number> {
    // Delete by id from a bounded subselect: portable (SQLite has no DELETE … LIMIT by default) and short.
    const r = await this.db
      .deleteFrom('messages_log')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('messages_log')
          .select('id')
          .where('component_appid', '=', componentAppid)
          .where('received_at', '<', receivedBefore)
          .orderBy('received_at')
          .limit(Math.max(1, limit)),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  getComponentToken(componentAppid: string): Promise<ComponentTokenRecord | undefined> {
    return q.getComponentToken(this.db, componentAppid);
  }
  saveComponentToken(record: ComponentTokenRecord): Promise<void> {
    return q.saveComponentToken(this.db, record);
  }
  invalidateComponentToken(componentAppid: string, obtainedAt: number): Promise<boolean> {
    return q.invalidateComponentToken(this.db, componentAppid, obtainedAt);
  }
  getAuthorizer(componentAppid: string, authorizerAppid: string): Promise<AuthorizerRecord | undefined> {
    return q.getAuthorizer(this.db, componentAppid, authorizerAppid);
  }
  listAuthorizers(
    componentAppid: string,
    options?: { status?: AuthorizerStatus; accessExpiringBefore?: number; after?: string; limit?: number },
  ): Promise<AuthorizerRecord[]> {
    return q.listAuthorizers(this.db, componentAppid, options);
  }
  countAuthorizers(componentAppid: string): Promise<Record<AuthorizerStatus, number>> {
    return q.countAuthorizers(this.db, componentAppid);
  }
  saveAuthorization(input: AuthorizationInput): Promise<AuthorizerRecord> {
    return this.db.transaction().execute(async (trx) => {
      await q.saveAuthorization(trx, { ...input, eventTime: undefined });
      return (await q.getAuthorizer(trx, input.componentAppid, input.authorizerAppid))!;
    });
  }
  applyAuthorization(input: AuthorizationInput): Promise<{ outcome: 'applied' | 'stale'; record: AuthorizerRecord }> {
    return this.db.transaction().execute(async (trx) => {
      const written = await q.saveAuthorization(trx, input);
      return { outcome: written ? 'applied' : 'stale', record: (await q.getAuthorizer(trx, input.componentAppid, input.authorizerAppid))! };
    });
  }
  revokeAuthorization(c: string, a: string, eventTime: number, reason: string, at: number): Promise<'revoked' | 'stale' | 'unknown'> {
    return q.revokeAuthorization(this.db, c, a, eventTime, reason, at);
  }
  recordExchange(e: Omit<ExchangeRecord, 'attempts' | 'state' | 'lastError'>): Promise<boolean> {
    return x.recordExchange(this.db, e);
  }
  getExchange(c: string, codeKey: string): Promise<ExchangeRecord | undefined> {
    return x.getExchange(this.db, c, codeKey);
  }
  dueExchanges(c: string, now: number, limit: number): Promise<ExchangeRecord[]> {
    return x.dueExchanges(this.db, c, now, limit);
  }
  updateExchange(
    c: string,
    codeKey: string,
    update: { state: ExchangeRecord['state']; attempts: number; nextAttemptAt: number; lastError: string | null; at: number },
  ): Promise<void> {
    return x.updateExchange(this.db, c, codeKey, update);
  }
  pruneExchanges(c: string, expiredBefore: number): Promise<number> {
    return x.pruneExchanges(this.db, c, expiredBefore);
  }
  saveRefreshedTokens(input: RefreshedTokensInput): Promise<'saved' | 'conflict'> {
    return this.db.transaction().execute((trx) => q.saveRefreshedTokens(trx, input));
  }
  replaceRefreshToken(c: string, a: string, expectedVersion: number, refreshTokenEnc: string, source: string, at: number): Promise<boolean> {
    return this.db.transaction().execute((trx) => q.replaceRefreshToken(trx, c, a, expectedVersion, refreshTokenEnc, source, at));
  }
  invalidateAuthorizerAccessToken(c: string, a: string, version: number): Promise<boolean> {
    return q.invalidateAuthorizerAccessToken(this.db, c, a, version);
  }
  setAuthorizerStatus(c: string, a: string, status: AuthorizerStatus, reason: string | null, at: number): Promise<void> {
    return q.setAuthorizerStatus(this.db, c, a, status, reason, at);
  }
  updateAuthorizerInfo(c: string, a: string, info: Record<string, unknown>, at: number): Promise<void> {
    return q.updateAuthorizerInfo(this.db, c, a, info, at);
  }
  recentRefreshTokens(c: string, a: string, limit: number): Promise<LoggedRefreshToken[]> {
    return q.recentRefreshTokens(this.db, c, a, limit);
  }

  saveLoginSession(record: LoginSessionRecord): Promise<void> {
    return api.saveLoginSession(this.db, record);
  }
  getLoginSession(c: string, sessionId: string): Promise<LoginSessionRecord | undefined> {
    return api.getLoginSession(this.db, c, sessionId);
  }
  deleteLoginSession(c: string, sessionId: string): Promise<boolean> {
    return api.deleteLoginSession(this.db, c, sessionId);
  }
  pruneLoginSessions(c: string, before: number): Promise<number> {
    return api.pruneLoginSessions(this.db, c, before);
  }
  getJsapiTicket(c: string, a: string): Promise<JsapiTicketRecord | undefined> {
    return api.getJsapiTicket(this.db, c, a);
  }
  saveJsapiTicket(record: JsapiTicketRecord): Promise<void> {
    return api.saveJsapiTicket(this.db, record);
  }
  invalidateJsapiTicket(c: string, a: string, obtainedAt: number): Promise<boolean> {
    return api.invalidateJsapiTicket(this.db, c, a, obtainedAt);
  }
  getJssdkDomains(c: string, a: string): Promise<string[]> {
    return api.getJssdkDomains(this.db, c, a);
  }
  setJssdkDomains(c: string, a: string, domains: string[], at: number): Promise<void> {
    return api.setJssdkDomains(this.db, c, a, domains, at);
  }
  createApiKey(record: ApiKeyRecord): Promise<boolean> {
    return admin.createApiKey(this.db, record);
  }
  getApiKey(c: string, keyId: string): Promise<ApiKeyRecord | undefined> {
    return admin.getApiKey(this.db, c, keyId);
  }
  listApiKeys(c: string): Promise<ApiKeyRecord[]> {
    return admin.listApiKeys(this.db, c);
  }
  revokeApiKey(c: string, keyId: string, at: number): Promise<boolean> {
    return admin.revokeApiKey(this.db, c, keyId, at);
  }
  replaceApiKeySecret(c: string, keyId: string, secretHash: string, at: number): Promise<boolean> {
    return admin.replaceApiKeySecret(this.db, c, keyId, secretHash, at);
  }
  recordAudit(record: AuditRecord): Promise<void> {
    return admin.recordAudit(this.db, record);
  }
  listAudit(c: string, options?: { limit?: number; keyId?: string; action?: string; target?: string }): Promise<StoredAudit[]> {
    return admin.listAudit(this.db, c, options);
  }
  createFleetJob(job: FleetJobRecord, targets: FleetTargetRecord[]): Promise<void> {
    return this.db.transaction().execute((trx) => fleet.createFleetJob(trx, job, targets));
  }
  getFleetJob(c: string, jobId: string): Promise<FleetJobRecord | undefined> {
    return fleet.getFleetJob(this.db, c, jobId);
  }
  listFleetJobs(c: string, options?: { limit?: number; status?: FleetJobRecord['status'] }): Promise<FleetJobRecord[]> {
    return fleet.listFleetJobs(this.db, c, options);
  }
  updateFleetJob(
    c: string,
    jobId: string,
    patch: Partial<Pick<FleetJobRecord, 'status' | 'pause' | 'updatedAt' | 'finishedAt'>>,
    expectStatus?: ReadonlyArray<FleetJobRecord['status']>,
  ): Promise<boolean> {
    return fleet.updateFleetJob(this.db, c, jobId, patch, expectStatus);
  }
  getFleetTarget(c: string, jobId: string, appid: string): Promise<FleetTargetRecord | undefined> {
    return fleet.getFleetTarget(this.db, c, jobId, appid);
  }
  listFleetTargets(c: string, jobId: string, options?: { states?: readonly string[]; limit?: number; offset?: number }): Promise<FleetTargetRecord[]> {
    return fleet.listFleetTargets(this.db, c, jobId, options);
  }
  countFleetTargets(c: string, jobId: string): Promise<Record<string, number>> {
    return fleet.countFleetTargets(this.db, c, jobId);
  }
  updateFleetTarget(c: string, jobId: string, appid: string, expectedVersion: number, patch: FleetTargetPatch): Promise<FleetTargetRecord | undefined> {
    return fleet.updateFleetTarget(this.db, c, jobId, appid, expectedVersion, patch);
  }
  dueFleetTargets(c: string, now: number, limit: number): Promise<FleetTargetRecord[]> {
    return fleet.dueFleetTargets(this.db, c, now, limit);
  }
  findFleetTargetsByAppid(c: string, appid: string, states: readonly string[]): Promise<FleetTargetRecord[]> {
    return fleet.findFleetTargetsByAppid(this.db, c, appid, states);
  }
  setFleetExtJson(c: string, appid: string, extJson: string, at: number): Promise<void> {
    return fleet.setFleetExtJson(this.db, c, appid, extJson, at);
  }
  getFleetExtJson(c: string, appid: string): Promise<string | undefined> {
    return fleet.getFleetExtJson(this.db, c, appid);
  }
  deleteFleetExtJson(c: string, appid: string): Promise<boolean> {
    return fleet.deleteFleetExtJson(this.db, c, appid);
  }
  listFleetExtJson(c: string): Promise<Array<{ appid: string; extJson: string; updatedAt: number }>> {
    return fleet.listFleetExtJson(this.db, c);
  }
}
