/** The latest component_verify_ticket of one component. */
export interface StoredTicket {
  componentAppid: string;
  ticket: string;
  /** WeChat's CreateTime of the push, Unix seconds. */
  createTime: number;
  /** When we received it, epoch ms. */
  receivedAt: number;
}

/** One verified, decrypted push to the authorization-event URL. */
export interface PushRecord {
  componentAppid: string;
  /** Identifies the content: a replayed or retried push has the same key and is processed once. */
  dedupeKey: string;
  infoType: string;
  authorizerAppid: string | null;
  createTime: number;
  receivedAt: number;
  /** The decrypted XML as WeChat sent it. */
  payload: string;
}

export interface StoredPush extends PushRecord {
  id: number;
}

export interface TicketStore {
  getTicket(componentAppid: string): Promise<StoredTicket | undefined>;
}

export interface PushStore {
  /**
   * Records a push once, in one transaction; a ticket push also replaces the stored ticket unless a
   * newer one (by CreateTime) is already there. Returns `duplicate` (and writes nothing) when a push
   * with the same dedupe key was recorded before.
   */
  recordPush(push: PushRecord, ticket?: StoredTicket): Promise<'stored' | 'duplicate'>;
  listPushes(componentAppid: string, options?: { limit?: number; infoType?: string }): Promise<StoredPush[]>;
  /** Deletes pushes received before `receivedBefore` (epoch ms); returns how many. */
  prunePushes(componentAppid: string, receivedBefore: number): Promise<number>;
}

export type StoreDialect = 'sqlite' | 'postgres';

/** The one persistence interface; adapters pass `storeContract` in `store/testing`. */
export interface Store extends TicketStore, PushStore {
  readonly dialect: StoreDialect;
  /** Applies pending migrations; idempotent and safe to run from several processes at once. */
  migrate(): Promise<void>;
  /** Cheap reachability check for /healthz. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
