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
  /** CreateTime (Unix s) of the event or exchange that last set the authorization state; null before creds_0001. */
  event_time: number | null;
}

export interface RefreshTokenLogTable {
  id: Generated<number>;
  component_appid: string;
  authorizer_appid: string;
  refresh_token_enc: string;
  source: string;
  created_at: number;
}

export interface CredsExchangesTable {
  component_appid: string;
  code_key: string;
  code_enc: string;
  authorizer_appid: string | null;
  event_time: number;
  received_at: number;
  expires_at: number;
  attempts: number;
  next_attempt_at: number;
  state: string;
  last_error: string | null;
  updated_at: number;
}

export interface CredsHealthTable {
  id: string;
  at: number;
}

export interface MessagesLogTable {
  id: Generated<number>;
  component_appid: string;
  authorizer_appid: string;
  dedupe_key: string;
  type: string;
  from_user: string;
  create_time: number;
  received_at: number;
  payload: string;
}

export interface ApiLoginSessionsTable {
  component_appid: string;
  session_id: string;
  authorizer_appid: string;
  openid: string;
  unionid: string | null;
  session_key_enc: string;
  created_at: number;
  expires_at: number;
}

export interface ApiJsapiTicketsTable {
  component_appid: string;
  authorizer_appid: string;
  ticket_enc: string;
  expires_at: number;
  obtained_at: number;
}

export interface ApiJssdkDomainsTable {
  component_appid: string;
  authorizer_appid: string;
  domains: string;
  updated_at: number;
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

export interface FleetJobsTable {
  component_appid: string;
  job_id: string;
  template_id: number;
  user_version: string;
  user_desc: string;
  options: string;
  status: string;
  pause: string | null;
  total: number;
  created_by: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface FleetTargetsTable {
  component_appid: string;
  job_id: string;
  appid: string;
  state: string;
  ext_json: string;
  auditid: number | null;
  reason: string | null;
  errcode: number | null;
  errmsg: string | null;
  error_step: string | null;
  intent: string | null;
  intent_at: number | null;
  lease_until: number | null;
  next_at: number | null;
  attempts: number;
  version: number;
  updated_at: number;
}

export interface FleetExtJsonTable {
  component_appid: string;
  appid: string;
  ext_json: string;
  updated_at: number;
}

export interface Database {
  messages_log: MessagesLogTable;
  component_tickets: ComponentTicketsTable;
  push_events: PushEventsTable;
  component_tokens: ComponentTokensTable;
  authorizers: AuthorizersTable;
  refresh_token_log: RefreshTokenLogTable;
  creds_exchanges: CredsExchangesTable;
  creds_health: CredsHealthTable;
  api_login_sessions: ApiLoginSessionsTable;
  api_jsapi_tickets: ApiJsapiTicketsTable;
  api_jssdk_domains: ApiJssdkDomainsTable;
  admin_api_keys: AdminApiKeysTable;
  admin_audit: AdminAuditTable;
  fleet_jobs: FleetJobsTable;
  fleet_targets: FleetTargetsTable;
  fleet_ext_json: FleetExtJsonTable;
}
