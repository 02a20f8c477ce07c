/**
 * A wxopen server running the fleet in its own process (createWxOpen + listen), pointed at a sandbox in
 * the test process, for tests that kill it. Env: DB_URL, REDIS_URL, API_BASE, PORT, COMPONENT_* (the
 * sandbox's component), FLEET_PREFIX. Prints "url <base>" then "ready".
 */
import { createWxOpen } from '../../src/server/create.js';

const env = process.env;
const wx = await createWxOpen({
  config: {
    LOG_LEVEL: env.LOG_LEVEL ?? 'silent',
    PORT: env.PORT ?? '0',
    HOST: '127.0.0.1',
    WXOPEN_COMPONENT_APPID: env.COMPONENT_APPID,
    WXOPEN_COMPONENT_SECRET: env.COMPONENT_SECRET,
    WXOPEN_TOKEN: env.COMPONENT_TOKEN,
    WXOPEN_ENCODING_AES_KEY: env.COMPONENT_AES_KEY,
    WXOPEN_SECRET_KEY: 'ab'.repeat(32),
    WXOPEN_PUBLIC_URL: `http://127.0.0.1:${env.PORT}`,
    WXOPEN_DATABASE_URL: env.DB_URL,
    WXOPEN_REDIS_URL: env.REDIS_URL,
    WXOPEN_API_BASE: env.API_BASE,
    WXOPEN_API_BACKUP_BASES: '',
    WXOPEN_MP_BASE: env.API_BASE,
    WXOPEN_OPEN_BASE: env.API_BASE,
  },
  refresher: false,
  ensureTicket: false,
  fleet: { scanMs: 200, leaseMs: 1500, retryBackoffMs: 20, concurrency: 8, redisPrefix: env.FLEET_PREFIX },
});
const url = await wx.listen();
process.stdout.write(`url ${url}\nready\n`);
