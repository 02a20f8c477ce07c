import type {} from '@fastify/swagger';
import type { Config } from '../config.js';
import type { Fleet } from '../fleet/index.js';
import type { Metrics } from '../observability/metrics.js';
import type { Platform } from '../platform.js';
import type { Store } from '../store/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { AdminAuth, Principal, Scope } from './credentials.js';
import type { ReconcileReport } from './reconcile.js';
import type { Session, SessionSealer } from './session.js';

/** A jsapi_ticket source for the token service (default: the platform's cached, single-flight ticket). */
export type JsapiTicketProvider = (authorizerAppid: string) => Promise<{ ticket: string; expiresAt: number }>;

/** Lists the per-authorizer message log (default: the store's `listMessages`). */
export type MessageLister = (filter: { authorizerAppid?: string; limit: number }) => Promise<Array<Record<string, unknown>>>;

export interface AdminDeps {
  config: Config;
  store: Store;
  platform: Platform;
  logger: Logger;
  clock: Clock;
  metrics: Metrics;
  /** Sandbox mode: the simulator's admin API, called by the sandbox control page. */
  sandboxAdmin?: { url: string; token?: string };
  jsapiTicket?: JsapiTicketProvider;
  listMessages?: MessageLister;
  /** Deploy jobs (issue 15); without one the deploy routes answer 501. */
  fleet?: Fleet;
}

export interface AdminContext extends AdminDeps {
  auth: AdminAuth;
  sessions: SessionSealer;
  /** One log line and one audit row per sensitive operation, naming the key that did it. */
  audit(principal: Principal, action: string, target: string | null, detail?: Record<string, unknown>): Promise<void>;
  lastReconcile: ReconcileReport | undefined;
  runReconcile(principal: Principal): Promise<ReconcileReport>;
}

export type Access = 'public' | 'bearer' | 'session' | 'any';

/** Per-route auth, read by the admin app's onRequest hook. */
export interface RouteAuth {
  access?: Access;
  scope?: Scope;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    scope?: Scope;
  }
  interface FastifyRequest {
    principal: Principal | null;
    session: Session | null;
  }
}
