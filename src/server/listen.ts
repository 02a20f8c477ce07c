import type { Config } from '../config.js';
import { Platform } from '../platform.js';
import { createStore } from '../store/create-store.js';
import type { Store } from '../store/types.js';
import { createLogger, type Logger } from '../util/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { buildApp, type WxOpenApp } from './app.js';

export interface RunningServer extends WxOpenApp {
  url: string;
  store: Store;
  platform: Platform;
  close(): Promise<void>;
}

export interface StartServerOptions {
  logger?: Logger;
  /** Ask WeChat for a ticket at start when none younger than 12 h is stored (default true). */
  ensureTicket?: boolean;
  /** Run the background token refresher (default true). */
  refresher?: boolean;
  /** An already opened store (closed with the server); default: opened from `config.databaseUrl`. */
  store?: Store;
}

/** Opens the store, builds the app and listens; `close()` stops accepting, drains and closes the store. */
export async function startServer(config: Config, options: StartServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const store = options.store ?? (await createStore(config.databaseUrl));
  const metrics = createMetrics();
  const platform = new Platform({ config, store, logger, metrics });
  const built = await buildApp({ config, store, logger, platform, metrics });
  try {
    await built.app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await platform.close();
    await store.close();
    throw err;
  }
  const address = built.app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  if (options.ensureTicket !== false) {
    // Not awaited: WeChat may be slow or down, and serving pushes must not wait for it.
    platform.component.ensureTicket().then(
      (r) => r === 'requested' && logger.info('no recent component_verify_ticket stored: asked WeChat to push one (api_start_push_ticket)'),
      (err: unknown) => logger.warn({ err }, 'api_start_push_ticket failed; waiting for the regular ticket push'),
    );
  }
  if (options.refresher !== false) platform.refresher.start();
  // Pushed authorization codes not yet exchanged (a crash, a transient failure) are retried from the store.
  platform.exchanges.start();
  return {
    ...built,
    url: `http://${host}:${port}`,
    store,
    platform,
    async close() {
      await built.app.close();
      await built.context.pushes.drain();
      await platform.close();
      await store.close();
    },
  };
}
