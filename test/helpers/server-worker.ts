/**
 * A whole wxopen server (startServer) in its own process, pointed at a sandbox in the test process, for
 * tests that kill it or cut its database connections, with its operator listener (for /metrics).
 * Prints "url <base>", "admin <base>" then "ready"; the operator token is WORKER_ADMIN_TOKEN.
 */
import { loadConfig } from '../../src/config.js';
import { startAdmin } from '../../src/admin/start.js';
import { startServer } from '../../src/server/listen.js';

const env = process.env;
export const WORKER_ADMIN_TOKEN = 'server-worker-operator-token-0123';
const config = loadConfig({
  LOG_LEVEL: env.LOG_LEVEL ?? 'silent',
  PORT: '0',
  HOST: '127.0.0.1',
  WXOPEN_DATABASE_URL: env.DB_URL,
  WXOPEN_REDIS_URL: env.REDIS_URL,
  WXOPEN_API_BASE: env.API_BASE,
  WXOPEN_API_BACKUP_BASES: '',
  WXOPEN_MP_BASE: env.API_BASE,
  WXOPEN_OPEN_BASE: env.API_BASE,
  WXOPEN_ADMIN_TOKEN: WORKER_ADMIN_TOKEN,
  WXOPEN_ADMIN_PORT: '0',
});
const server = await startServer(config, { refresher: false });
config.publicUrl = server.url;
const admin = await startAdmin(
  { config, store: server.store, platform: server.platform, logger: server.context.logger, clock: server.context.clock, metrics: server.context.metrics },
  { reconcileTimer: false },
);
process.stdout.write(`url ${server.url}\nadmin ${admin.url}\nready\n`);
