/**
 * A whole wxopen server (startServer) in its own process, pointed at a sandbox in the test process, for
 * tests that kill it or cut its database connections. Prints "url <base>" then "ready".
 */
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server/listen.js';

const env = process.env;
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
});
const server = await startServer(config, { refresher: false });
config.publicUrl = server.url;
process.stdout.write(`url ${server.url}\nready\n`);
