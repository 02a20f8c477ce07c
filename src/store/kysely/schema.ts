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

export interface Database {
  component_tickets: ComponentTicketsTable;
  push_events: PushEventsTable;
}
