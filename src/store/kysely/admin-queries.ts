import type { Kysely, Selectable } from 'kysely';
import type { ApiKeyRecord, AuditRecord, StoredAudit } from '../types.js';
import type { AdminApiKeysTable, Database } from './schema.js';

function toKey(r: Selectable<AdminApiKeysTable>): ApiKeyRecord {
  return {
    componentAppid: r.component_appid,
    keyId: r.key_id,
    name: r.name,
    secretHash: r.secret_hash,
    scopes: JSON.parse(r.scopes) as string[],
    authorizers: r.authorizers === null ? null : (JSON.parse(r.authorizers) as string[]),
    createdAt: Number(r.created_at),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
  };
}

export async function createApiKey(db: Kysely<Database>, k: ApiKeyRecord): Promise<boolean> {
  const r = await db
    .insertInto('admin_api_keys')
    .values({
      component_appid: k.componentAppid,
      key_id: k.keyId,
      name: k.name,
      secret_hash: k.secretHash,
      scopes: JSON.stringify(k.scopes),
      authorizers: k.authorizers === null ? null : JSON.stringify(k.authorizers),
      created_at: k.createdAt,
      revoked_at: k.revokedAt,
    })
    .onConflict((oc) => oc.columns(['component_appid', 'key_id']).doNothing())
    .returning('key_id')
    .executeTakeFirst();
  return r !== undefined;
}

export async function getApiKey(db: Kysely<Database>, c: string, keyId: string): Promise<ApiKeyRecord | undefined> {
  const r = await db.selectFrom('admin_api_keys').selectAll().where('component_appid', '=', c).where('key_id', '=', keyId).executeTakeFirst();
  return r && toKey(r);
}

export async function listApiKeys(db: Kysely<Database>, c: string): Promise<ApiKeyRecord[]> {
  const rows = await db.selectFrom('admin_api_keys').selectAll().where('component_appid', '=', c).orderBy('created_at').orderBy('key_id').execute();
  return rows.map(toKey);
}

export async function revokeApiKey(db: Kysely<Database>, c: string, keyId: string, at: number): Promise<boolean> {
  const r = await db
    .updateTable('admin_api_keys')
    .set({ revoked_at: at })
    .where('component_appid', '=', c)
    .where('key_id', '=', keyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function replaceApiKeySecret(db: Kysely<Database>, c: string, keyId: string, secretHash: string, at: number): Promise<boolean> {
  const r = await db
    .updateTable('admin_api_keys')
    .set({ secret_hash: secretHash, revoked_at: null, created_at: at })
    .where('component_appid', '=', c)
    .where('key_id', '=', keyId)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function recordAudit(db: Kysely<Database>, a: AuditRecord): Promise<void> {
  await db
    .insertInto('admin_audit')
    .values({ component_appid: a.componentAppid, at: a.at, key_id: a.keyId, action: a.action, target: a.target, detail: a.detail })
    .execute();
}

export async function listAudit(
  db: Kysely<Database>,
  c: string,
  o: { limit?: number; keyId?: string; action?: string; target?: string } = {},
): Promise<StoredAudit[]> {
  let q = db.selectFrom('admin_audit').selectAll().where('component_appid', '=', c);
  if (o.keyId !== undefined) q = q.where('key_id', '=', o.keyId);
  if (o.action !== undefined) q = q.where('action', '=', o.action);
  if (o.target !== undefined) q = q.where('target', '=', o.target);
  const rows = await q.orderBy('id', 'desc').limit(o.limit ?? 50).execute();
  return rows.map((r) => ({
    id: Number(r.id),
    componentAppid: r.component_appid,
    at: Number(r.at),
    keyId: r.key_id,
    action: r.action,
    target: r.target,
    detail: r.detail,
  }));
}
