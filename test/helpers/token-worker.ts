/**
 * A separate platform process for the stampede and crash tests. Modes:
 * - stampede: after "go" on stdin, CALLERS concurrent callers each ask for the component token and
 *   every authorizer's token; prints the distinct tokens seen as JSON.
 * - churn: force-refreshes the authorizers' tokens in a loop until killed (the crash test kills it).
 * - component: after "go", asks once for the component token; prints {token, ms} or {error} as JSON.
 * LOCK_PREFIX (with REDIS_URL) isolates the Redis lock keys of one test.
 */
import { createInterface } from 'node:readline';
import { loadConfig } from '../../src/config.js';
import { RedisLockBackend } from '../../src/lock/redis.js';
import { Platform } from '../../src/platform.js';
import { createStore } from '../../src/store/create-store.js';
import { createLogger } from '../../src/util/logger.js';

const env = process.env;
const appids = (env.APPIDS ?? '').split(',').filter(Boolean);
const config = loadConfig({
  LOG_LEVEL: 'silent',
  WXOPEN_DATABASE_URL: env.DB_URL,
  WXOPEN_REDIS_URL: env.REDIS_URL,
  WXOPEN_API_BASE: env.API_BASE,
  WXOPEN_API_BACKUP_BASES: '',
});
const store = await createStore(config.databaseUrl, { schema: env.PG_SCHEMA });
const lock = env.LOCK_PREFIX && env.REDIS_URL ? RedisLockBackend.fromUrl(env.REDIS_URL, env.LOCK_PREFIX) : undefined;
const platform = new Platform({ config, store, lock, logger: createLogger({ level: 'silent' }), credentials: { lockPollMs: 10, lockMaxWaitMs: 60_000 } });

if (env.WORKER_MODE === 'component') {
  process.stdout.write('ready\n');
  const rl = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => rl.once('line', () => resolve()));
  const started = Date.now();
  let code = 0;
  try {
    const token = await platform.componentToken();
    process.stdout.write(`${JSON.stringify({ token, ms: Date.now() - started })}\n`);
  } catch (err) {
    code = 1;
    process.stdout.write(`${JSON.stringify({ error: String(err), ms: Date.now() - started })}\n`);
  }
  rl.close();
  await platform.close();
  await lock?.close();
  await store.close();
  process.exit(code);
} else if (env.WORKER_MODE === 'churn') {
  process.stdout.write('ready\n');
  for (let i = 0; ; i++) await platform.authorizerToken(appids[i % appids.length]!, { force: true });
} else {
  process.stdout.write('ready\n');
  const rl = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => rl.once('line', () => resolve()));
  const callers = Number(env.CALLERS ?? 200);
  const component = new Set<string>();
  const authorizer: Record<string, Set<string>> = Object.fromEntries(appids.map((a) => [a, new Set<string>()]));
  await Promise.all(
    Array.from({ length: callers }, async () => {
      component.add(await platform.componentToken());
      for (const a of appids) authorizer[a]!.add(await platform.authorizerToken(a));
    }),
  );
  process.stdout.write(`${JSON.stringify({ component: [...component], authorizer: Object.fromEntries(Object.entries(authorizer).map(([k, v]) => [k, [...v]])) })}\n`);
  rl.close();
  await platform.close();
  await store.close();
}
