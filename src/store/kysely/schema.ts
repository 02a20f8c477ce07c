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

export interface Database {
  component_tickets: ComponentTicketsTable;
  push_events: PushEventsTable;
  component_tokens: ComponentTokensTable;
  authorizers: AuthorizersTable;
  refresh_token_log: RefreshTokenLogTable;
  api_login_sessions: ApiLoginSessionsTable;
  api_jsapi_tickets: ApiJsapiTicketsTable;
  api_jssdk_domains: ApiJssdkDomainsTable;
}
