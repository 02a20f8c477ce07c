import { loadConfig, type Config, type Env } from '../config.js';
import { createFleet, type CreateFleetOptions } from '../fleet/create.js';
import type { Fleet } from '../fleet/fleet.js';
import { MessageRetention } from '../messages/retention.js';
import { MessageRouter } from '../messages/router.js';
import type { MessageDedupe } from '../messages/dedupe.js';
import { createMetrics } from '../observability/metrics.js';
import { Platform, type PlatformOptions } from '../platform.js';
import { unconfiguredSealKeys, unconfiguredSealKeysProblem } from '../credentials/seal-keys.js';
import { ConfigError } from '../errors.js';
import { createStore } from '../store/create-store.js';
import type { Store } from '../store/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import { createLogger, type Logger } from '../util/logger.js';
import { errorFields } from '../util/log-error.js';
import { buildApp, type WxOpenApp } from './app.js';

/**
 * Configuration in code: the same keys and rules as the environment (`WXOPEN_COMPONENT_APPID`, …),
 * validated by the same schema. Numbers, booleans and lists are accepted and written as the
 * environment would hold them.
 */
export type ConfigInput = Record<string, string | number | boolean | readonly string[] | undefined>;

export interface CreateWxOpenOptions {
  /** A config object (env keys) or an already loaded `Config`; default: read `env`. */
  config?: ConfigInput | Config;
  /** The environment read when `config` is not given; default `process.env`. */
  env?: Env;
  logger?: Logger;
  clock?: Clock;
  /** An open store; default: `createStore(config.databaseUrl)` (closed by `close()`). */
  store?: Store;
  /** Extra Platform options (fetch, lock, credentials…). */
  platform?: Omit<PlatformOptions, 'config' | 'store' | 'logger' | 'clock' | 'metrics'>;
  dedupe?: MessageDedupe;
  /** Ask WeChat for a ticket at `listen()` when none younger than 12 h is stored (default true). */
  ensureTicket?: boolean;
  /** Run the background token refresher after `listen()` (default true). */
  refresher?: boolean;
  /** Prune the message log in the background after `listen()` (default true). */
  retention?: boolean;
  /** Run the deploy-job runner after `listen()` (default true; `wx.fleet` works either way). */
  fleetRunner?: boolean;
  /** Runner tuning (scan interval, lease, retries, BullMQ concurrency…). */
  fleet?: Omit<CreateFleetOptions, 'platform' | 'store' | 'config' | 'logger' | 'clock' | 'metrics'>;
}

export interface WxOpen extends WxOpenApp {
  config: Config;
  store: Store;
  platform: Platform;
  router: MessageRouter;
  retention: MessageRetention;
  /** Mini-program deploy jobs (src/fleet); its runner runs after `listen()`. */
  fleet: Fleet;
  /** Registers a message handler: `wx.on('message.text', (m) => reply.text('hi'))`. */
  on: MessageRouter['on'];
  /** Listens (default `config.port`/`config.host`) and starts the refresher and retention; resolves with the URL. */
  listen(options?: { port?: number; host?: string }): Promise<string>;
  /**
   * Starts the background work without listening (ticket request, token refresher, retry of pushed
   * authorization codes, retention), for a host that serves the push URLs through an adapter
   * (`wxopen/web`, `wxopen/express`, …), and the mini-program fleet's runner. `listen()` calls it; calling it
   * again does nothing.
   */
  start(): Promise<void>;
  /** The URL after `listen()`. */
  url: string | undefined;
  /** Stops accepting, drains handlers and background work, closes the store (if opened here). */
  close(): Promise<void>;
}

function isConfig(c: ConfigInput | Config): c is Config {
  return typeof c.mode === 'string' && typeof c.componentAppid === 'string' && Array.isArray(c.encodingAesKeys);
}

/** A config object in code → the environment shape, validated by `loadConfig` (same schema, same errors). */
export function configFromObject(input: ConfigInput): Config {
  const env: Env = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    env[key] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return loadConfig(env);
}

/**
 * The one entry point: the complete platform (push URLs including the exchange of `authorized`
 * pushes, the /authorize pages, the dashboard, health and metrics, the token refresher, message
 * handlers, the message log and its retention) from a config object or the environment.
 */
export async function createWxOpen(options: CreateWxOpenOptions = {}): Promise<WxOpen> {
  const config = options.config === undefined ? loadConfig(options.env ?? process.env) : isConfig(options.config) ? options.config : configFromObject(options.config);
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const clock = options.clock ?? systemClock;
  const store = options.store ?? (await createStore(config.databaseUrl));
  const unconfigured = await unconfiguredSealKeys(store, config.secretKeys).catch(async (err: unknown) => {
    if (!options.store) await store.close();
    throw err;
  });
  if (unconfigured.length > 0) {
    // Refused here, not at the first token read: /healthz and the status page would otherwise say ok.
    if (!options.store) await store.close();
    throw new ConfigError('WXOPEN_PREVIOUS_SECRET_KEYS', unconfiguredSealKeysProblem(unconfigured, config.secretKeys));
  }
  const metrics = createMetrics();
  const platform = new Platform({ ...options.platform, config, store, logger, clock, metrics });
  const router = new MessageRouter();
  const fleet = createFleet({ ...options.fleet, platform, store, config, logger, clock, metrics });
  // Registered before user handlers: audit results feed the deploy state machine whatever they answer.
  const auditResult = (m: Parameters<Fleet['onAuditEvent']>[0]) => {
    fleet.onAuditEvent(m).catch((err: unknown) => logger.warn({ ...errorFields(err), authorizerAppid: m.authorizerAppid }, 'fleet audit event not applied; polling catches up'));
    return undefined;
  };
  router.on('event.weapp_audit_success', auditResult);
  router.on('event.weapp_audit_fail', auditResult);
  router.on('event.weapp_audit_delay', auditResult);
  let built: WxOpenApp;
  try {
    built = await buildApp({ config, store, logger, clock, platform, metrics, router, dedupe: options.dedupe });
  } catch (err) {
    await platform.close();
    if (!options.store) await store.close();
    throw err;
  }
  const retention = new MessageRetention({ store, componentAppid: config.componentAppid, retentionDays: config.messageRetentionDays, clock, logger });
  let closed = false;
  let started = false;
  const wx: WxOpen = {
    ...built,
    config,
    store,
    platform,
    router,
    retention,
    fleet,
    url: undefined,
    on: ((...args: Parameters<MessageRouter['on']>) => {
      router.on(...args);
      return router;
    }) as MessageRouter['on'],
    async listen(o = {}) {
      await built.app.listen({ port: o.port ?? config.port, host: o.host ?? config.host });
      const address = built.app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const host = (o.host ?? config.host) === '0.0.0.0' || (o.host ?? config.host) === '::' ? 'localhost' : (o.host ?? config.host);
      wx.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      await wx.start();
      return wx.url;
    },
    async start() {
      if (started || closed) return;
      started = true;
      if (options.ensureTicket !== false) {
        // Not awaited: WeChat may be slow or down, and serving pushes must not wait for it.
        platform.component.ensureTicket().then(
          (r) => r === 'requested' && logger.info('no recent component_verify_ticket stored: asked WeChat to push one (api_start_push_ticket)'),
          (err: unknown) => logger.warn(errorFields(err), 'api_start_push_ticket failed; waiting for the regular ticket push'),
        );
      }
      if (options.refresher !== false) platform.refresher.start();
      // Pushed authorization codes not yet exchanged (a crash, a transient failure) are retried from the store.
      platform.exchanges.start();
      if (options.retention !== false) retention.start();
      // The fleet runner (BullMQ worker or embedded) is awaited: a Redis it cannot reach is a start-up error.
      if (options.fleetRunner !== false) await fleet.start();
    },
    async close() {
      if (closed) return;
      closed = true;
      await retention.stop();
      await fleet.stop();
      await built.app.close();
      await built.context.pushes.drain();
      await platform.close();
      if (!options.store) await store.close();
    },
  };
  return wx;
}
