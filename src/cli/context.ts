import { existsSync } from 'node:fs';
import { loadConfig, redactUrl, sqlitePath, type Config, type Env } from '../config.js';
import type { Lease, LockBackend } from '../lock/types.js';
import type { Platform } from '../platform.js';
import { projectEnv } from '../project.js';
import { inUseMessage, instancePaths, readServerRuntime, tryLockDatabase, DatabaseInUseError, type InstanceLock } from '../server/instance.js';
import type { Store } from '../store/types.js';
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
 * While a server owns the SQLite file, CLI commands may read what it stored but not refresh: two
 * processes refreshing on SQLite are not coordinated (the lock is in-process).
 */
class ServerOwnsDatabase implements LockBackend {
  readonly kind = 'memory' as const;
  constructor(private readonly message: string) {}
  tryAcquire(): Promise<Lease | undefined> {
    return Promise.reject(new DatabaseInUseError(this.message));
  }
  async close(): Promise<void> {}
}

export interface CommandPlatform {
  config: Config;
  platform: Platform;
  store: Store;
  /** True when a running server owns the SQLite file (this command only reads). */
  readOnly: boolean;
  close(): Promise<void>;
}

/**
 * A Platform for a one-shot command, on the same database and (in sandbox mode) the same simulator as
 * the project's running server. A SQLite file that does not exist is an error, not a new empty one.
 */
export async function openCommandPlatform(config: Config): Promise<CommandPlatform> {
  const file = sqlitePath(config.databaseUrl);
  if (file !== undefined && !existsSync(file)) {
    throw new CliError(
      'WXO_ERR_DATABASE_MISSING',
      `no database at ${file} (start the server once with \`wxopen serve\`, or set WXOPEN_DATABASE_URL; relative paths resolve against ${config.projectDir})`,
    );
  }
  const paths = instancePaths(config);
  let lock: InstanceLock | undefined;
  let readOnly = false;
  if (paths.lock) {
    lock = tryLockDatabase(paths.lock);
    readOnly = lock === undefined;
  }
  const runtime = readServerRuntime(paths.runtime);
  if (config.mode === 'sandbox' && runtime?.sandboxUrl) {
    // The simulator the running server embeds, wherever its port was set.
    config = { ...config, apiBase: runtime.sandboxUrl, mpBase: runtime.sandboxUrl, openBase: runtime.sandboxUrl, apiBackupBases: [] };
  }
  let store: Store;
  try {
    store = await openStore(config);
  } catch (err) {
    lock?.release();
    throw err;
  }
  const [{ Platform }, { createLogger }] = await Promise.all([import('../platform.js'), import('../util/logger.js')]);
  const platform = new Platform({
    config,
    store,
    logger: createLogger({ level: 'warn' }),
    ...(readOnly && {
      lock: new ServerOwnsDatabase(
        `${inUseMessage(file!, runtime)}. While it runs, this command can only show a stored token that is still valid`,
      ),
    }),
  });
  return {
    config,
    platform,
    store,
    readOnly,
    async close() {
      await platform.close();
      await store.close();
      lock?.release();
    },
  };
}
