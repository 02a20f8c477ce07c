import type { Kysely } from 'kysely';
import type { JsapiTicketRecord, LoginSessionRecord } from '../types.js';
import type { Database } from './schema.js';

type Db = Kysely<Database>;

export async function saveLoginSession(db: Db, r: LoginSessionRecord): Promise<void> {
  await db
    .insertInto('api_login_sessions')
    .values({
      component_appid: r.componentAppid,
      session_id: r.sessionId,
      authorizer_appid: r.authorizerAppid,
      openid: r.openid,
      unionid: r.unionid,
      session_key_enc: r.sessionKeyEnc,
      created_at: r.createdAt,
      expires_at: r.expiresAt,
    })
    .execute();
}

export async function getLoginSession(db: Db, componentAppid: string, sessionId: string): Promise<LoginSessionRecord | undefined> {
  const row = await db
    .selectFrom('api_login_sessions')
    .selectAll()
    .where('component_appid', '=', componentAppid)
    .where('session_id', '=', sessionId)
    .executeTakeFirst();
  return (
    row && {
      componentAppid: row.component_appid,
      sessionId: row.session_id,
      authorizerAppid: row.authorizer_appid,
      openid: row.openid,
      unionid: row.unionid,
      sessionKeyEnc: row.session_key_enc,
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
    }
  );
}

export async function deleteLoginSession(db: Db, componentAppid: string, sessionId: string): Promise<boolean> {
  const r = await db.deleteFrom('api_login_sessions').where('component_appid', '=', componentAppid).where('session_id', '=', sessionId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function pruneLoginSessions(db: Db, componentAppid: string, before: number): Promise<number> {
  const r = await db.deleteFrom('api_login_sessions').where('component_appid', '=', componentAppid).where('expires_at', '<', before).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function getJsapiTicket(db: Db, componentAppid: string, authorizerAppid: string): Promise<JsapiTicketRecord | undefined> {
  const row = await db
    .selectFrom('api_jsapi_tickets')
    .selectAll()
    .where('component_appid', '=', componentAppid)
    .where('authorizer_appid', '=', authorizerAppid)
    .executeTakeFirst();
  return (
    row && {
      componentAppid,
      authorizerAppid,
      ticketEnc: row.ticket_enc,
      expiresAt: Number(row.expires_at),
      obtainedAt: Number(row.obtained_at),
    }
  );
}

export async function saveJsapiTicket(db: Db, r: JsapiTicketRecord): Promise<void> {
  await db
    .insertInto('api_jsapi_tickets')
    .values({ component_appid: r.componentAppid, authorizer_appid: r.authorizerAppid, ticket_enc: r.ticketEnc, expires_at: r.expiresAt, obtained_at: r.obtainedAt })
    .onConflict((oc) =>
      oc.columns(['component_appid', 'authorizer_appid']).doUpdateSet((eb) => ({
        ticket_enc: eb.ref('excluded.ticket_enc'),
        expires_at: eb.ref('excluded.expires_at'),
        obtained_at: eb.ref('excluded.obtained_at'),
      })),
    )
    .execute();
}

export async function invalidateJsapiTicket(db: Db, componentAppid: string, authorizerAppid: string, obtainedAt: number): Promise<boolean> {
  const r = await db
    .deleteFrom('api_jsapi_tickets')
    .where('component_appid', '=', componentAppid)
    .where('authorizer_appid', '=', authorizerAppid)
    .where('obtained_at', '=', obtainedAt)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function getJssdkDomains(db: Db, componentAppid: string, authorizerAppid: string): Promise<string[]> {
  const row = await db
    .selectFrom('api_jssdk_domains')
    .select('domains')
    .where('component_appid', '=', componentAppid)
    .where('authorizer_appid', '=', authorizerAppid)
    .executeTakeFirst();
  return row ? (JSON.parse(row.domains) as string[]) : [];
}

export async function setJssdkDomains(db: Db, componentAppid: string, authorizerAppid: string, domains: string[], at: number): Promise<void> {
  await db
    .insertInto('api_jssdk_domains')
    .values({ component_appid: componentAppid, authorizer_appid: authorizerAppid, domains: JSON.stringify(domains), updated_at: at })
    .onConflict((oc) =>
      oc.columns(['component_appid', 'authorizer_appid']).doUpdateSet((eb) => ({ domains: eb.ref('excluded.domains'), updated_at: eb.ref('excluded.updated_at') })),
    )
    .execute();
}
