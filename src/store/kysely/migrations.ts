import { createHash } from 'node:crypto';
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { timeOrderedKey } from '../../util/time-key.js';
// The one migration that reads a push's XML (creds_0002) parses it as the exchange sweep does.
import { parseXml } from '../../xml/parse.js';
import type { StoreDialect } from '../types.js';

/**
 * Named, ordered migrations. Every table is keyed by component_appid so one deployment can host
 * several platforms. Times are epoch ms (bigint) so both dialects compare them the same way.
 */
function migrations(dialect: StoreDialect): Record<string, Migration> {
  /** Position of the first ':' in a text column (1-based, 0 when none), in the dialect's words. */
  const colonAt = (column: string) => (dialect === 'postgres' ? sql`strpos(${sql.ref(column)}, ':')` : sql`instr(${sql.ref(column)}, ':')`);
  const id = (t: ReturnType<Kysely<unknown>['schema']['createTable']>) =>
    dialect === 'postgres'
      ? t.addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
      : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  return {
    '0001_tickets_and_pushes': {
      async up(db) {
        await db.schema
          .createTable('component_tickets')
          .addColumn('component_appid', 'text', (c) => c.primaryKey())
          .addColumn('ticket', 'text', (c) => c.notNull())
          .addColumn('create_time', 'bigint', (c) => c.notNull())
          .addColumn('received_at', 'bigint', (c) => c.notNull())
          .execute();
        await id(db.schema.createTable('push_events'))
          .addColumn('component_appid', 'text', (c) => c.notNull())
          .addColumn('dedupe_key', 'text', (c) => c.notNull())
          .addColumn('info_type', 'text', (c) => c.notNull())
          .addColumn('authorizer_appid', 'text')
          .addColumn('create_time', 'bigint', (c) => c.notNull())
          .addColumn('received_at', 'bigint', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addUniqueConstraint('push_events_dedupe', ['component_appid', 'dedupe_key'])
          .execute();
        await db.schema
          .createIndex('push_events_received')
          .on('push_events')
          .columns(['component_appid', 'received_at'])
          .execute();
      },
      async down(db) {
        await db.schema.dropTable('push_events').execute();
        await db.schema.dropTable('component_tickets').execute();
      },
    },
    '0002_credentials': {
      async up(db) {
        await db.schema
          .createTable('component_tokens')
          .addColumn('component_appid', 'text', (c) => c.primaryKey())
          .addColumn('token_enc', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('obtained_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('authorizers')
          .addColumn('component_appid', 'text', (c) => c.notNull())
          .addColumn('authorizer_appid', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('status_reason', 'text')
          .addColumn('func_info', 'text', (c) => c.notNull())
          .addColumn('refresh_token_enc', 'text')
          .addColumn('access_token_enc', 'text')
          .addColumn('access_expires_at', 'bigint')
          .addColumn('version', 'bigint', (c) => c.notNull())
          .addColumn('authorized_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('info', 'text')
          .addPrimaryKeyConstraint('authorizers_pk', ['component_appid', 'authorizer_appid'])
          .execute();
        await db.schema
          .createIndex('authorizers_expiry')
          .on('authorizers')
          .columns(['component_appid', 'status', 'access_expires_at'])
          .execute();
        // Append-only: every refresh token WeChat ever returned, so none is lost even when a write races.
        await id(db.schema.createTable('refresh_token_log'))
          .addColumn('component_appid', 'text', (c) => c.notNull())
          .addColumn('authorizer_appid', 'text', (c) => c.notNull())
          .addColumn('refresh_token_enc', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('refresh_token_log_authorizer')
          .on('refresh_token_log')
          .columns(['component_appid', 'authorizer_appid', 'id'])
          .execute();
      },
      async down(db) {
        await db.schema.dropTable('refresh_token_log').execute();
        await db.schema.dropTable('authorizers').execute();
        await db.schema.dropTable('component_tokens').execute();
      },
    },
    // Named by area (creds_) so helpers' migrations merge without renumbering.
    creds_0001_exchanges_and_event_order: {
      async up(db) {
        await db.schema.alterTable('authorizers').addColumn('event_time', 'bigint').execute();
        // Authorization codes to exchange, durable so a crash or a transient failure loses none (10-min life).
        await db.schema
          .createTable('creds_exchanges')
          .addColumn('component_appid', 'text', (c) => c.notNull())
          .addColumn('code_key', 'text', (c) => c.notNull())
          .addColumn('code_enc', 'text', (c) => c.notNull())
          .addColumn('authorizer_appid', 'text')
          .addColumn('event_time', 'bigint', (c) => c.notNull())
          .addColumn('received_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('last_error', 'text')
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('creds_exchanges_pk', ['component_appid', 'code_key'])
          .execute();
        await db.schema.createIndex('creds_exchanges_due').on('creds_exchanges').columns(['component_appid', 'state', 'next_attempt_at']).execute();
        // One row per store: /healthz's write probe.
        await db.schema
          .createTable('creds_health')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .execute();
      },
      async down(db) {
        await db.schema.dropTable('creds_health').execute();
        await db.schema.dropTable('creds_exchanges').execute();
        await db.schema.alterTable('authorizers').dropColumn('event_time').execute();
      },
    },
    'messages_0001_log': {
      async up(db) {
        await id(db.schema.createTable('messages_log'))
          .addColumn('component_appid', 'text', (c) => c.notNull())
          .addColumn('authorizer_appid', 'text', (c) => c.notNull())
          .addColumn('dedupe_key', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('from_user', 'text', (c) => c.notNull())
          .addColumn('create_time', 'bigint', (c) => c.notNull())
          .addColumn('received_at', 'bigint', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addUniqueConstraint('messages_log_dedupe', ['component_appid', 'dedupe_key'])
          .execute();
        // Retention deletes by age; the admin lists by authorizer and time.
        await db.schema.createIndex('messages_log_received').on('messages_log').columns(['component_appid', 'received_at']).execute();
        await db.schema
          .createIndex('messages_log_authorizer')
          .on('messages_log')
          .columns(['component_appid', 'authorizer_appid', 'received_at'])
          .execute();
      },
      async down(db) {
        await db.schema.dropTable('messages_log').execute();
      },
    },
    api_0001_sessions_tickets_domains: {
      async up(db) {
        await db.schema
          .createTable('api_login_sessions')
          .addColumn('component_appid', 'text', (c) => c.notNull())
          .addColumn('session_id', 'text', (c) => c.notNull())
          .addColumn('authorizer_appid', 'text', (c) => c.notNull())
          .addColumn('openid', 'text', (c) => c.notNull())
          .addColumn('unionid', 'text')
          .addColumn('session_key_enc', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('api_login_sessions_pk', ['component_appid', 'session_id'])
          .execute();
        await db.schema.createIndex('api_login_sessions_expiry').on('api_login_sessions').columns(['component_appid', 'expires_at']).execute();
        await db.schema
          .createTable('api_jsapi_tickets')
          .addColumn('component_appid', 'text', (c) => c.notNull())
          .addColumn('authorizer_appid', 'text', (c) => c.notNull())
          .addColumn('ticket_enc', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('obtained_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('api_jsapi_tickets_pk', ['component_appid', 'authorizer_appid'])
          .execute();
        await db.schema
          .createTable('api_jssdk_domains')
          .addColumn('component_appid', 'text', (c) => c.notNull())
          .addColumn('authorizer_appid', 'text', (c) => c.notNull())
          .addColumn('domains', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('api_jssdk_domains_pk', ['component_appid', 'authorizer_appid'])
          .execute();
      },
      async down(db) {
        await db.schema.dropTable('api_jssdk_domains').execute();
        await db.schema.dropTable('api_jsapi_tickets').execute();
        await db.schema.dropTable('api_login_sessions').execute();
      },
    },
    // Operator credentials (hashed) and the audit trail of the operator surface (issue 13).
    admin_0001_keys_and_audit: {
      async up(db) {
        await db.schema
          .createTable('admin_api_keys')
          .addColumn('component_appid', 'text', (c) => c.notNull())
          .addColumn('key_id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('secret_hash', 'text', (c) => c.notNull())
          .addColumn('scopes', 'text', (c) => c.notNull())
          .addColumn('authorizers', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .addPrimaryKeyConstraint('admin_api_keys_pk', ['component_appid', 'key_id'])
          .execute();
        await id(db.schema.createTable('admin_audit'))
          .addColumn('component_appid', 'text', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('key_id', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('target', 'text')
          .addColumn('detail', 'text')
          .execute();
        await db.schema.createIndex('admin_audit_at').on('admin_audit').columns(['component_appid', 'id']).execute();
      },
      async down(db) {
        await db.schema.dropTable('admin_audit').execute();
        await db.schema.dropTable('admin_api_keys').execute();
      },
    },
    // Deploy jobs and each merchant's state machine (issue 15).
    fleet_0001_jobs_and_targets: {
      async up(db) {
        await db.schema
          .createTable('fleet_jobs')
          .addColumn('component_appid', 'text', (c) => c.notNull())
          .addColumn('job_id', 'text', (c) => c.notNull())
          .addColumn('template_id', 'bigint', (c) => c.notNull())
          .addColumn('user_version', 'text', (c) => c.notNull())
          .addColumn('user_desc', 'text', (c) => c.notNull())
          .addColumn('options', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('pause', 'text')
          .addColumn('total', 'integer', (c) => c.notNull())
          .addColumn('created_by', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('finished_at', 'bigint')
          .addPrimaryKeyConstraint('fleet_jobs_pk', ['component_appid', 'job_id'])
          .execute();
        await db.schema
          .createTable('fleet_targets')
          .addColumn('component_appid', 'text', (c) => c.notNull())
          .addColumn('job_id', 'text', (c) => c.notNull())
          .addColumn('appid', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('ext_json', 'text', (c) => c.notNull())
          .addColumn('auditid', 'bigint')
          .addColumn('reason', 'text')
          .addColumn('errcode', 'integer')
          .addColumn('errmsg', 'text')
          .addColumn('error_step', 'text')
          .addColumn('intent', 'text')
          .addColumn('intent_at', 'bigint')
          .addColumn('lease_until', 'bigint')
          .addColumn('next_at', 'bigint')
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('fleet_targets_pk', ['component_appid', 'job_id', 'appid'])
          .execute();
        await db.schema.createIndex('fleet_targets_due').on('fleet_targets').columns(['component_appid', 'next_at']).execute();
        await db.schema.createIndex('fleet_targets_appid').on('fleet_targets').columns(['component_appid', 'appid']).execute();
        await db.schema
          .createTable('fleet_ext_json')
          .addColumn('component_appid', 'text', (c) => c.notNull())
          .addColumn('appid', 'text', (c) => c.notNull())
          .addColumn('ext_json', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('fleet_ext_json_pk', ['component_appid', 'appid'])
          .execute();
      },
      async down(db) {
        await db.schema.dropTable('fleet_ext_json').execute();
        await db.schema.dropTable('fleet_targets').execute();
        await db.schema.dropTable('fleet_jobs').execute();
      },
    },
    push_0001_time_ordered_keys: {
      // pushDedupeKey (src/push/dedupe-key.ts) puts the push's CreateTime in front of the hash, so the
      // unique index grows at its end; rows stored before keep matching a retry of theirs after the upgrade.
      // In SQL, as timeOrderedKey (src/util/time-key.ts) would write it: push logs can be large.
      async up(db) {
        const padded =
          dialect === 'postgres'
            ? sql`case when create_time between 0 and 9999999999 then lpad(create_time::text, 10, '0') else create_time::text end`
            : sql`case when create_time between 0 and 9999999999 then substr('0000000000' || create_time, -10) else cast(create_time as text) end`;
        await sql`update push_events set dedupe_key = ${padded} || ':' || dedupe_key where ${colonAt('dedupe_key')} = 0`.execute(db);
      },
      async down(db) {
        await sql`update push_events set dedupe_key = substr(dedupe_key, ${colonAt('dedupe_key')} + 1)`.execute(db);
      },
    },
    creds_0002_time_ordered_code_keys: {
      // ExchangeQueue.key puts the push's CreateTime in front of the code's hash. A row stored before must
      // get the same key, or the sweep (which rebuilds keys from stored pushes) would add a second row and
      // spend the code twice. The CreateTime is in the push, not the row: match them by the hash of the
      // push's AuthorizationCode. Rows live a day (pruneExchanges), so only the pushes of that day are read.
      async up(db) {
        const oldest = await db.selectFrom('creds_exchanges').select((eb) => eb.fn.min('received_at').as('t')).executeTakeFirst();
        if (oldest?.t === null || oldest?.t === undefined) return;
        const pushes = await db
          .selectFrom('push_events')
          .select(['component_appid', 'create_time', 'payload'])
          .where('info_type', 'in', ['authorized', 'updateauthorized'])
          .where('received_at', '>=', Number(oldest.t) - 3600_000)
          .execute();
        for (const p of pushes) {
          const code = parseXml(String(p.payload)).AuthorizationCode;
          if (typeof code !== 'string' || code === '') continue;
          const hash = createHash('sha256').update(`${String(p.component_appid)}:${code}`).digest('hex');
          await db
            .updateTable('creds_exchanges')
            .set({ code_key: timeOrderedKey(Number(p.create_time), hash) })
            .where('component_appid', '=', p.component_appid)
            .where('code_key', '=', hash)
            .execute();
        }
      },
      async down(db) {
        await sql`update creds_exchanges set code_key = substr(code_key, ${colonAt('code_key')} + 1)`.execute(db);
      },
    },
  };
}

export function migrationProvider(dialect: StoreDialect): MigrationProvider {
  return { getMigrations: async () => migrations(dialect) };
}
