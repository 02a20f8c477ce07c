import type { Config } from '../config.js';
import { createStore } from '../store/create-store.js';
import type { Store } from '../store/types.js';
import { createLogger, type Logger } from '../util/logger.js';
import { buildApp, type WxOpenApp } from './app.js';

export interface RunningServer extends WxOpenApp {
  url: string;
  store: Store;
  close(): Promise<void>;
}

/** Opens the store, builds the app and listens; `close()` stops accepting, drains and closes the store. */
export async function startServer(config: Config, options: { logger?: Logger } = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const store = await createStore(config.databaseUrl);
  const built = await buildApp({ config, store, logger });
  try {
    await built.app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await store.close();
    throw err;
  }
  const address = built.app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  return {
    ...built,
    url: `http://${host}:${port}`,
    store,
    async close() {
      await built.app.close();
      await built.context.pushes.drain();
      await store.close();
    },
  };
}
