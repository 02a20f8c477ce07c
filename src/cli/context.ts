import { existsSync } from 'node:fs';
import { loadConfig, redactUrl, sqlitePath, type Config, type Env } from '../config.js';
import type { Platform } from '../platform.js';
import { projectEnv } from '../project.js';
import { instancePaths, readServerRuntime } from '../server/instance.js';
import type { Store } from '../store/types.js';
import type { Logger } from '../util/logger.js';
import { CliError, describing } from './failures.js';

/** The configuration every command uses: environment over the project's `.env`, paths against the project. */
export function cliConfig(overrides: Env = {}): Config {
  const project = projectEnv();
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return loadConfig({ ...project.env, ...defined }, { baseDir: project.dir });
}

/** Opens the store with a one-line failure naming the database (never a stack). */
export function openStore(config: Config): Promise<Store> {
  return describing(`cannot open the database ${redactUrl(config.databaseUrl)}`, async () => {
    // Loaded on demand: `config`, `--help` and `dev` start fast without the database drivers.
    const { createStore } = await import('../store/create-store.js');
    return createStore(config.databaseUrl);
  });
}

/**
 * In sandbox mode, the simulator the project's running server embeds, wherever its port was set; and, unless
 * WXOPEN_PUBLIC_URL names one, that server's own address (it may have been started with another PORT).
 */
export function withRunningSandbox(config: Config): Config {
  const runtime = readServerRuntime(instancePaths(config).runtime);
  if (config.mode !== 'sandbox' || !runtime?.sandboxUrl) return config;
  const defaultPublicUrl = config.publicUrl === `http://localhost:${config.port}`;
  return { ...withSandboxBase(config, runtime.sandboxUrl), ...(defaultPublicUrl && { publicUrl: runtime.url }) };
}

/** Every WeChat host pointed at one simulator. */
export function withSandboxBase(config: Config, sandboxUrl: string): Config {
  return { ...config, apiBase: sandboxUrl, mpBase: sandboxUrl, openBase: sandboxUrl, apiBackupBases: [] };
}

export interface CommandPlatform {
  config: Config;
  platform: Platform;
  store: Store;
  /** Warnings and errors on standard error: a command's standard output is its answer. */
  logger: Logger;
  close(): Promise<void>;
}

/**
 * The project's store for a one-shot command (keys, tokens, deploys…): a SQLite file that does not exist is an
 * error, not a new empty one that no server reads (run from the wrong directory, or beside a moved file).
 */
export function openCommandStore(config: Config): Promise<Store> {
  const file = sqlitePath(config.databaseUrl);
  if (file !== undefined && !existsSync(file)) {
    throw new CliError(
      'WXO_ERR_DATABASE_MISSING',
      `no database at ${file} (start the server once with \`wxopen serve\`, or set WXOPEN_DATABASE_URL; relative paths resolve against ${config.projectDir})`,
    );
  }
  return openStore(config);
}

/** A Platform for a one-shot command, on the same database and (in sandbox mode) the same simulator as the project's running server. */
export async function openCommandPlatform(config: Config): Promise<CommandPlatform> {
  const store = await openCommandStore(config);
  config = withRunningSandbox(config);
  const [{ Platform }, { createLogger }] = await Promise.all([import('../platform.js'), import('../util/logger.js')]);
  // A command reports its own outcome in one line: a log line on the way there (a failover, a retry, the error it
  // then throws) would only stand beside it as JSON. LOG_LEVEL=debug or trace shows them all.
  const verbose = config.logLevel === 'debug' || config.logLevel === 'trace';
  const logger = createLogger({ level: verbose ? config.logLevel : config.logLevel === 'silent' ? 'silent' : 'fatal', output: 'stderr' });
  // The token leases live beside a SQLite file, shared with a running server: one refresh between them.
  const platform = new Platform({ config, store, logger });
  return {
    config,
    platform,
    store,
    logger,
    async close() {
      await platform.close();
      await store.close();
    },
  };
}
