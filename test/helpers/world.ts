import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../../src/config.js';
import { Platform, type PlatformOptions } from '../../src/platform.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';
import { buildApp } from '../../src/server/app.js';
import type { AppContext } from '../../src/server/context.js';
import { createStore } from '../../src/store/create-store.js';
import type { Store } from '../../src/store/types.js';
import { createLogger, type Logger } from '../../src/util/logger.js';
import { systemClock } from '../../src/util/clock.js';
import { clearOfChinaMidnightClock } from './china-day.js';
import type { MessagePipeline } from '../../src/messages/pipeline.js';

export interface World {
  sandbox: Sandbox;
  app: FastifyInstance;
  platform: Platform;
  store: Store;
  config: Config;
  context: AppContext;
  /** The authorizer-message pipeline (`messages.settled()` waits for release-test replies). */
  messages: MessagePipeline;
  /** The platform server's base URL. */
  url: string;
  /** Waits until pushes and their handlers (query_auth…) have settled. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export interface WorldOptions {
  sandbox?: SandboxOptions;
  env?: Record<string, string>;
  store?: () => Promise<Store>;
  platform?: Omit<PlatformOptions, 'config' | 'store'>;
  /** API hosts given the sandbox URL; default: the sandbox alone. */
  apiBases?: (sandboxUrl: string) => { primary: string; backups: string[] };
  /** Default: silent (or WXOPEN_TEST_LOG's level). */
  logger?: Logger;
  /**
   * Run the sandbox on the real clock instead of one moved clear of Beijing midnight. For tests whose other
   * processes or checks (CLI, workers, the doctor on the system clock) read real time: a sandbox hours ahead
   * of them makes fresh tokens look stale and the Date header skewed, but only between 13:00 and 16:00 UTC.
   */
  realClock?: boolean;
}

/**
 * The whole system on loopback: the WeChat sandbox and a wxopen platform server pointed at each other,
 * sharing the sandbox's clock so expiry is tested by advancing it.
 */
export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const clock = options.realClock ? systemClock : clearOfChinaMidnightClock();
  const sandbox = await startSandbox({ ticketIntervalMs: 0, clock, ...options.sandbox });
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    WXOPEN_DATABASE_URL: 'sqlite::memory:',
    WXOPEN_API_BASE: options.apiBases?.(sandbox.url).primary ?? sandbox.url,
    WXOPEN_API_BACKUP_BASES: options.apiBases?.(sandbox.url).backups.join(',') ?? '',
    WXOPEN_MP_BASE: sandbox.url,
    WXOPEN_OPEN_BASE: sandbox.url,
    ...options.env,
  });
  const store = options.store ? await options.store() : await createStore(config.databaseUrl);
  const logger = options.logger ?? createLogger({ level: process.env.WXOPEN_TEST_LOG ?? 'silent' });
  const platform = new Platform({
    config,
    store,
    logger,
    clock: sandbox.clock,
    http: { busyBackoffMs: 5, timeoutMs: 3000 },
    credentials: { lockPollMs: 5 },
    ...options.platform,
    // Simulated time does not pass while the refresher paces itself; its schedule is checked instead.
    refresher: { sleepUntil: async () => {}, ...options.platform?.refresher },
  });
  const { app, context, messages } = await buildApp({ config, store, logger, clock: sandbox.clock, platform });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  // Known only after listen: the callback URL WeChat redirects to.
  config.publicUrl = url;
  sandbox.setPlatform({ componentPushUrl: `${url}/wechat/component`, authorizerPushUrl: `${url}/wechat/authorizer/$APPID$` });
  return {
    sandbox,
    app,
    platform,
    store,
    config,
    context,
    messages,
    url,
    async settle() {
      await sandbox.settled();
      await context.pushes.drain();
      await messages.settled();
    },
    async close() {
      await app.close();
      await context.pushes.drain();
      await platform.close();
      await sandbox.close();
      await store.close();
    },
  };
}
