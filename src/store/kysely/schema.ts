import type { Generated } from 'kysely';

export interface ComponentTicketsTable {
  component_appid: string;
  ticket: string;
  create_time: number;
  received_at: number;
}

export interface PushEventsTable {
  id: Generated<number>;
  component_appid: string;
  dedupe_key: string;
  info_type: string;
  authorizer_appid: string | null;
  create_time: number;
  received_at: number;
  payload: string;
}

export interface ComponentTokensTable {
  component_appid: string;
  token_enc: string;
  expires_at: number;
  obtained_at: number;
}

export interface AuthorizersTable {
  component_appid: string;
  authorizer_appid: string;
  status: string;
  status_reason: string | null;
  func_info: string;
  refresh_token_enc: string | null;
  access_token_enc: string | null;
  access_expires_at: number | null;
  version: number;
  authorized_at: number;
  updated_at: number;
  info: string | null;
}

export interface RefreshTokenLogTable {
  id: Generated<number>;
  component_appid: string;
  authorizer_appid: string;
  refresh_token_enc: string;
  source: string;
  created_at: number;
}

export interface AdminApiKeysTable {
  component_appid: string;
  key_id: string;
  name: string;
  secret_hash: string;
  scopes: string;
  authorizers: string | null;
  created_at: number;
  revoked_at: number | null;
}

export interface AdminAuditTable {
  id: Generated<number>;
  component_appid: string;
  at: number;
  key_id: string;
  action: string;
  target: string | null;
  detail: string | null;
}

export interface Database {
  component_tickets: ComponentTicketsTable;
  push_events: PushEventsTable;
  component_tokens: ComponentTokensTable;
  authorizers: AuthorizersTable;
  refresh_token_log: RefreshTokenLogTable;
  admin_api_keys: AdminApiKeysTable;
  admin_audit: AdminAuditTable;
}
