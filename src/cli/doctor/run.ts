import { existsSync } from 'node:fs';
import { redactUrl, sqlitePath, type Config } from '../../config.js';
import { ConfigError } from '../../errors.js';
import type { Platform } from '../../platform.js';
import type { Store } from '../../store/types.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { describeCause } from '../failures.js';
import {
  authorizersCheck,
  clockCheck,
  componentTokenCheck,
  configCheck,
  egressCheck,
  errorText,
  publicUrlCheck,
  redisCheck,
  schemaCheck,
  ticketCheck,
  secretKeysCheck,
  writeCheck,
  type CheckContext,
} from './checks.js';
import { buildReport, CHECK_IDS, type CheckId, type CheckResult, type DoctorReport } from './report.js';

export interface DoctorOptions {
  /** Loads the configuration; a `ConfigError` becomes the failed `config` check. */
  loadConfig: () => Config;
  clock?: Clock;
  fetch?: typeof fetch;
  /** Bound of each network probe (Redis, public URL, WeChat); default 5 s. */
  timeoutMs?: number;
}

const skip = (id: CheckId, why: string): CheckResult => ({ id, status: 'skip', message: why });

/**
 * Every check in order. A check that cannot run because an earlier one failed is `skip` with the reason,
 * so `--json` always lists the same checks. Read only, except one probe row and one Redis key (both
 * overwritten or expiring) and, like any caller, a component token obtained when none is stored.
 */
export async function runDoctor(o: DoctorOptions): Promise<DoctorReport> {
  const clock = o.clock ?? systemClock;
  const checks: CheckResult[] = [];
  let config: Config;
  try {
    config = o.loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    checks.push({
      id: 'config',
      status: 'fail',
      message: err.issues.map((i) => `${i.variable} ${i.problem}`).join('; '),
      fix: 'correct these variables (environment, the project .env, or WXOPEN_CONFIG_FILE); `wxopen config` prints what is loaded',
      data: { issues: err.issues },
    });
    for (const id of CHECK_IDS) if (id !== 'config') checks.push(skip(id, 'needs a valid configuration'));
    return buildReport(checks, clock.now());
  }
  checks.push(configCheck(config));
  const ctx: CheckContext = { config, now: () => clock.now(), fetch: o.fetch ?? fetch, timeoutMs: o.timeoutMs ?? 5000 };

  const opened = await openDatabase(config);
  let store: Store | undefined;
  if ('error' in opened) {
    checks.push({ id: 'database', status: 'fail', message: opened.error, fix: opened.fix });
    checks.push(skip('schema', 'needs the database'), skip('database-write', 'needs the database'), skip('secret-keys', 'needs the database'));
  } else {
    store = opened.store;
    checks.push({ id: 'database', status: 'pass', message: `${redactUrl(config.databaseUrl)} (${store.dialect}) answers` });
    checks.push(schemaCheck(opened.schema));
    checks.push(await writeCheck(store, clock.now()));
    // Older schemas lack some of the tables sealed values live in; `serve` migrates, then checks.
    checks.push(opened.schema.pending.length > 0 ? skip('secret-keys', 'needs the schema up to date') : await guarded('secret-keys', () => secretKeysCheck(store!, config.secretKeys)));
  }
  const redis = await redisCheck(ctx);
  checks.push(redis);

  let platform: Platform | undefined;
  try {
    if (store) {
      checks.push(await guarded('ticket', () => ticketCheck(ctx, store!)));
      const { Platform: PlatformClass } = await import('../../platform.js');
      const { createLogger } = await import('../../util/logger.js');
      // A failed Redis is reported once above; the token is then checked on the database's lock instead.
      const platformConfig = redis.status === 'fail' ? { ...config, redisUrl: undefined } : config;
      platform = new PlatformClass({ config: platformConfig, store, clock, fetch: o.fetch, logger: createLogger({ level: 'silent' }), http: { timeoutMs: ctx.timeoutMs, busyRetries: 0 } });
      const token = await componentTokenCheck(platform, clock.now());
      checks.push(token.result);
      checks.push(await guarded('egress-ip', () => egressCheck(platform!, token.error)));
    } else {
      checks.push(skip('ticket', 'needs the database'), skip('component-token', 'needs the database'), skip('egress-ip', 'needs the database'));
    }
    checks.push(await publicUrlCheck(ctx));
    checks.push(await guarded('clock', () => clockCheck(ctx, store)));
    checks.push(store ? await guarded('authorizers', () => authorizersCheck(ctx, store!)) : skip('authorizers', 'needs the database'));
  } finally {
    await platform?.close().catch(() => {});
    await store?.close().catch(() => {});
  }
  return buildReport(checks, clock.now());
}

/** A check that throws (a query failing half-way) is a failed check, not a crashed doctor. */
async function guarded(id: CheckId, run: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await run();
  } catch (err) {
    return { id, status: 'fail', message: `could not check: ${errorText(err)}` };
  }
}

type Opened = { store: Store; schema: { pending: string[]; total: number } } | { error: string; fix: string };

/** Opens the database as it is (no migration, no new SQLite file) and reads its migration state. */
async function openDatabase(config: Config): Promise<Opened> {
  const file = sqlitePath(config.databaseUrl);
  if (file !== undefined && !existsSync(file)) {
    return { error: `no database at ${file}`, fix: `start the server once (\`wxopen serve\` creates it) or set WXOPEN_DATABASE_URL; relative paths resolve against ${config.projectDir}` };
  }
  let store: Store | undefined;
  try {
    const { createStore } = await import('../../store/create-store.js');
    store = await createStore(config.databaseUrl, { migrate: false });
    const { KyselyStore } = await import('../../store/kysely/kysely-store.js');
    const { pendingMigrations } = await import('../../store/kysely/migrator.js');
    const schema = store instanceof KyselyStore ? await pendingMigrations(store.db, store.dialect) : { pending: [], total: 0 };
    return { store, schema };
  } catch (err) {
    await store?.close().catch(() => {});
    return {
      error: `cannot use ${redactUrl(config.databaseUrl)}: ${describeCause(err)}`,
      fix: config.databaseUrl.startsWith('sqlite:')
        ? 'check the file (a SQLite database, readable by this user) or WXOPEN_DATABASE_URL'
        : 'start PostgreSQL or correct WXOPEN_DATABASE_URL (host, port, user, password, database)',
    };
  }
}
