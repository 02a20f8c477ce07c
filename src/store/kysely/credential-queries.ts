import type { Kysely, Selectable, Transaction } from 'kysely';
import type {
  AuthorizationInput,
  AuthorizerRecord,
  AuthorizerStatus,
  ComponentTokenRecord,
  LoggedRefreshToken,
  RefreshedTokensInput,
} from '../types.js';
import type { AuthorizersTable, Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** How many logged refresh tokens to keep per authorizer. */
const REFRESH_LOG_KEEP = 20;

export function toAuthorizer(row: Selectable<AuthorizersTable>): AuthorizerRecord {
  return {
    componentAppid: row.component_appid,
    authorizerAppid: row.authorizer_appid,
    status: row.status as AuthorizerStatus,
    statusReason: row.status_reason,
    funcInfo: JSON.parse(row.func_info) as number[],
    refreshTokenEnc: row.refresh_token_enc,
    accessTokenEnc: row.access_token_enc,
    accessExpiresAt: row.access_expires_at === null ? null : Number(row.access_expires_at),
    version: Number(row.version),
    authorizedAt: Number(row.authorized_at),
    updatedAt: Number(row.updated_at),
    info: row.info === null ? null : (JSON.parse(row.info) as Record<string, unknown>),
    eventTime: row.event_time === null || row.event_time === undefined ? null : Number(row.event_time),
  };
}

export async function getComponentToken(db: Db, componentAppid: string): Promise<ComponentTokenRecord | undefined> {
  const row = await db.selectFrom('component_tokens').selectAll().where('component_appid', '=', componentAppid).executeTakeFirst();
  return row && { componentAppid, tokenEnc: row.token_enc, expiresAt: Number(row.expires_at), obtainedAt: Number(row.obtained_at) };
}

export async function saveComponentToken(db: Db, r: ComponentTokenRecord): Promise<void> {
  await db
    .insertInto('component_tokens')
    .values({ component_appid: r.componentAppid, token_enc: r.tokenEnc, expires_at: r.expiresAt, obtained_at: r.obtainedAt })
    .onConflict((oc) =>
      oc.column('component_appid').doUpdateSet((eb) => ({
        token_enc: eb.ref('excluded.token_enc'),
        expires_at: eb.ref('excluded.expires_at'),
        obtained_at: eb.ref('excluded.obtained_at'),
      })),
    )
    .execute();
}

export async function invalidateComponentToken(db: Db, componentAppid: string, obtainedAt: number): Promise<boolean> {
  const r = await db
    .deleteFrom('component_tokens')
    .where('component_appid', '=', componentAppid)
    .where('obtained_at', '=', obtainedAt)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function getAuthorizer(db: Db, componentAppid: string, authorizerAppid: string): Promise<AuthorizerRecord | undefined> {
  const row = await db
    .selectFrom('authorizers')
    .selectAll()
    .where('component_appid', '=', componentAppid)
    .where('authorizer_appid', '=', authorizerAppid)
    .executeTakeFirst();
  return row && toAuthorizer(row);
}

export async function listAuthorizers(
  db: Db,
  componentAppid: string,
  o: { status?: AuthorizerStatus; accessExpiringBefore?: number; after?: string; limit?: number } = {},
): Promise<AuthorizerRecord[]> {
  let q = db.selectFrom('authorizers').selectAll().where('component_appid', '=', componentAppid);
  if (o.status !== undefined) q = q.where('status', '=', o.status);
  if (o.accessExpiringBefore !== undefined) {
    const before = o.accessExpiringBefore;
    q = q.where((eb) => eb.or([eb('access_expires_at', 'is', null), eb('access_expires_at', '<', before)]));
  }
  if (o.after !== undefined) q = q.where('authorizer_appid', '>', o.after);
  const rows = await q.orderBy('authorizer_appid').limit(o.limit ?? 100).execute();
  return rows.map(toAuthorizer);
}

export async function countAuthorizers(db: Db, componentAppid: string): Promise<Record<AuthorizerStatus, number>> {
  const rows = await db
    .selectFrom('authorizers')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('component_appid', '=', componentAppid)
    .groupBy('status')
    .execute();
  const counts: Record<AuthorizerStatus, number> = { authorized: 0, needs_reauthorization: 0, unauthorized: 0, missing_upstream: 0 };
  for (const r of rows) counts[r.status as AuthorizerStatus] = Number(r.n);
  return counts;
}

export async function logRefreshToken(db: Db, c: string, a: string, refreshTokenEnc: string, source: string, at: number): Promise<void> {
  await db
    .insertInto('refresh_token_log')
    .values({ component_appid: c, authorizer_appid: a, refresh_token_enc: refreshTokenEnc, source, created_at: at })
    .execute();
  const keep = await db
    .selectFrom('refresh_token_log')
    .select('id')
    .where('component_appid', '=', c)
    .where('authorizer_appid', '=', a)
    .orderBy('id', 'desc')
    .offset(REFRESH_LOG_KEEP)
    .limit(1)
    .executeTakeFirst();
  if (keep) {
    await db
      .deleteFrom('refresh_token_log')
      .where('component_appid', '=', c)
      .where('authorizer_appid', '=', a)
      .where('id', '<=', keep.id)
      .execute();
  }
}

/** Upserts the authorization; with `eventTime`, only over a row no newer event set. True when written. */
export async function saveAuthorization(db: Db, i: AuthorizationInput): Promise<boolean> {
  const eventTime = i.eventTime ?? Math.floor(i.at / 1000);
  const written = await db
    .insertInto('authorizers')
    .values({
      component_appid: i.componentAppid,
      authorizer_appid: i.authorizerAppid,
      status: 'authorized',
      status_reason: null,
      func_info: JSON.stringify(i.funcInfo),
      refresh_token_enc: i.refreshTokenEnc,
      access_token_enc: i.accessTokenEnc,
      access_expires_at: i.accessExpiresAt,
      version: 1,
      authorized_at: i.at,
      updated_at: i.at,
      info: null,
      event_time: eventTime,
    })
    .onConflict((oc) => {
      const update = oc.columns(['component_appid', 'authorizer_appid']).doUpdateSet((eb) => ({
        status: 'authorized',
        status_reason: null,
        func_info: eb.ref('excluded.func_info'),
        refresh_token_enc: eb.ref('excluded.refresh_token_enc'),
        access_token_enc: eb.ref('excluded.access_token_enc'),
        access_expires_at: eb.ref('excluded.access_expires_at'),
        version: eb('authorizers.version', '+', 1),
        authorized_at: eb.ref('excluded.authorized_at'),
        updated_at: eb.ref('excluded.updated_at'),
        event_time: eb.ref('excluded.event_time'),
      }));
      if (i.eventTime === undefined) return update;
      // Equal times apply: of two events in one second, the one delivered later wins.
      return update.where((eb) => eb.or([eb('authorizers.event_time', 'is', null), eb('authorizers.event_time', '<=', eb.ref('excluded.event_time'))]));
    })
    .returning('version')
    .executeTakeFirst();
  // Logged even when stale: a refresh token WeChat issued is never dropped.
  await logRefreshToken(db, i.componentAppid, i.authorizerAppid, i.refreshTokenEnc, 'query_auth', i.at);
  return written !== undefined;
}

export async function revokeAuthorization(db: Db, c: string, a: string, eventTime: number, reason: string, at: number): Promise<'revoked' | 'stale' | 'unknown'> {
  const r = await db
    .updateTable('authorizers')
    .set((eb) => ({
      status: 'unauthorized',
      status_reason: reason,
      updated_at: at,
      version: eb('version', '+', 1),
      refresh_token_enc: null,
      access_token_enc: null,
      access_expires_at: null,
      event_time: eventTime,
    }))
    .where('component_appid', '=', c)
    .where('authorizer_appid', '=', a)
    .where((eb) => eb.or([eb('event_time', 'is', null), eb('event_time', '<=', eventTime)]))
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) > 0) return 'revoked';
  return (await getAuthorizer(db, c, a)) ? 'stale' : 'unknown';
}

export async function saveRefreshedTokens(db: Db, i: RefreshedTokensInput): Promise<'saved' | 'conflict'> {
  await logRefreshToken(db, i.componentAppid, i.authorizerAppid, i.refreshTokenEnc, 'refresh', i.at);
  const r = await db
    .updateTable('authorizers')
    .set((eb) => ({
      refresh_token_enc: i.refreshTokenEnc,
      access_token_enc: i.accessTokenEnc,
      access_expires_at: i.accessExpiresAt,
      version: eb('version', '+', 1),
      updated_at: i.at,
    }))
    .where('component_appid', '=', i.componentAppid)
    .where('authorizer_appid', '=', i.authorizerAppid)
    .where('version', '=', i.expectedVersion)
    .where('status', '=', 'authorized')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0 ? 'saved' : 'conflict';
}

export async function replaceRefreshToken(
  db: Db,
  c: string,
  a: string,
  expectedVersion: number,
  refreshTokenEnc: string,
  source: string,
  at: number,
): Promise<boolean> {
  await logRefreshToken(db, c, a, refreshTokenEnc, source, at);
  const r = await db
    .updateTable('authorizers')
    .set((eb) => ({ refresh_token_enc: refreshTokenEnc, status: 'authorized', status_reason: null, version: eb('version', '+', 1), updated_at: at }))
    .where('component_appid', '=', c)
    .where('authorizer_appid', '=', a)
    .where('version', '=', expectedVersion)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function invalidateAuthorizerAccessToken(db: Db, c: string, a: string, version: number): Promise<boolean> {
  const r = await db
    .updateTable('authorizers')
    .set((eb) => ({ access_token_enc: null, access_expires_at: null, version: eb('version', '+', 1) }))
    .where('component_appid', '=', c)
    .where('authorizer_appid', '=', a)
    .where('version', '=', version)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function setAuthorizerStatus(db: Db, c: string, a: string, status: AuthorizerStatus, reason: string | null, at: number): Promise<void> {
  await db
    .updateTable('authorizers')
    .set((eb) => ({
      status,
      status_reason: reason,
      updated_at: at,
      version: eb('version', '+', 1),
      ...(status === 'unauthorized' && { refresh_token_enc: null, access_token_enc: null, access_expires_at: null }),
    }))
    .where('component_appid', '=', c)
    .where('authorizer_appid', '=', a)
    .execute();
}

export async function updateAuthorizerInfo(db: Db, c: string, a: string, info: Record<string, unknown>, at: number): Promise<void> {
  await db
    .updateTable('authorizers')
    .set({ info: JSON.stringify(info), updated_at: at })
    .where('component_appid', '=', c)
    .where('authorizer_appid', '=', a)
    .execute();
}

export async function recentRefreshTokens(db: Db, c: string, a: string, limit: number): Promise<LoggedRefreshToken[]> {
  const rows = await db
    .selectFrom('refresh_token_log')
    .select(['refresh_token_enc', 'source', 'created_at'])
    .where('component_appid', '=', c)
    .where('authorizer_appid', '=', a)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ refreshTokenEnc: r.refresh_token_enc, source: r.source, createdAt: Number(r.created_at) }));
}
