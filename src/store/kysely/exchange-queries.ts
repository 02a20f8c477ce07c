import type { Kysely, Selectable, Transaction } from 'kysely';
import type { ExchangeRecord } from '../types.js';
import type { CredsExchangesTable, Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

function toExchange(r: Selectable<CredsExchangesTable>): ExchangeRecord {
  return {
    componentAppid: r.component_appid,
    codeKey: r.code_key,
    codeEnc: r.code_enc,
    authorizerAppid: r.authorizer_appid,
    eventTime: Number(r.event_time),
    receivedAt: Number(r.received_at),
    expiresAt: Number(r.expires_at),
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    state: r.state as ExchangeRecord['state'],
    lastError: r.last_error,
  };
}

export async function recordExchange(db: Db, e: Omit<ExchangeRecord, 'attempts' | 'state' | 'lastError'>): Promise<boolean> {
  const r = await db
    .insertInto('creds_exchanges')
    .values({
      component_appid: e.componentAppid,
      code_key: e.codeKey,
      code_enc: e.codeEnc,
      authorizer_appid: e.authorizerAppid,
      event_time: e.eventTime,
      received_at: e.receivedAt,
      expires_at: e.expiresAt,
      attempts: 0,
      next_attempt_at: e.nextAttemptAt,
      state: 'pending',
      last_error: null,
      updated_at: e.receivedAt,
    })
    .onConflict((oc) => oc.columns(['component_appid', 'code_key']).doNothing())
    .returning('code_key')
    .executeTakeFirst();
  return r !== undefined;
}

export async function getExchange(db: Db, c: string, codeKey: string): Promise<ExchangeRecord | undefined> {
  const r = await db.selectFrom('creds_exchanges').selectAll().where('component_appid', '=', c).where('code_key', '=', codeKey).executeTakeFirst();
  return r && toExchange(r);
}

export async function dueExchanges(db: Db, c: string, now: number, limit: number): Promise<ExchangeRecord[]> {
  const rows = await db
    .selectFrom('creds_exchanges')
    .selectAll()
    .where('component_appid', '=', c)
    .where('state', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .orderBy('next_attempt_at')
    .limit(limit)
    .execute();
  return rows.map(toExchange);
}

export async function updateExchange(
  db: Db,
  c: string,
  codeKey: string,
  u: { state: ExchangeRecord['state']; attempts: number; nextAttemptAt: number; lastError: string | null; at: number },
): Promise<void> {
  await db
    .updateTable('creds_exchanges')
    .set({ state: u.state, attempts: u.attempts, next_attempt_at: u.nextAttemptAt, last_error: u.lastError, updated_at: u.at })
    .where('component_appid', '=', c)
    .where('code_key', '=', codeKey)
    .execute();
}

export async function pruneExchanges(db: Db, c: string, expiredBefore: number): Promise<number> {
  const r = await db.deleteFrom('creds_exchanges').where('component_appid', '=', c).where('expires_at', '<', expiredBefore).executeTakeFirst();
  return Number(r.numDeletedRows);
}
