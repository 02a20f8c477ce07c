import { startAdmin, type RunningAdmin } from '../../src/admin/start.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { startServer, type RunningServer } from '../../src/server/listen.js';
import { createLogger } from '../../src/util/logger.js';

/** Every metric the README documents, read from the real server's /metrics over HTTP. */
const DOCUMENTED = [
  'wxopen_pushes_total',
  'wxopen_push_duration_seconds',
  'wxopen_token_refreshes_total',
  'wxopen_upstream_requests_total',
  'wxopen_reauthorization_required_total',
];

/** The largest sample of `name` (a histogram counts by `name_count`). */
function largestSample(text: string, name: string): number {
  let max = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (m && (m[1] === name || m[1] === `${name}_count`)) max = Math.max(max, Number(m[2]));
  }
  return max;
}

const ADMIN_TOKEN = 'metrics-test-operator-token-0123';

describe('one metrics registry: /metrics of the running server shows every documented metric', () => {
  let sandbox: Sandbox;
  let server: RunningServer;
  let admin: RunningAdmin;
  beforeAll(async () => {
    sandbox = await startSandbox({ ticketIntervalMs: 0 });
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      WXOPEN_DATABASE_URL: 'sqlite::memory:',
      WXOPEN_API_BASE: sandbox.url,
      WXOPEN_API_BACKUP_BASES: '',
      WXOPEN_MP_BASE: sandbox.url,
      WXOPEN_OPEN_BASE: sandbox.url,
      WXOPEN_ADMIN_TOKEN: ADMIN_TOKEN,
      WXOPEN_ADMIN_PORT: '0',
    });
    server = await startServer(config, { logger: createLogger({ level: 'silent' }), ensureTicket: false, refresher: false });
    // /metrics is served by the operator listener (one registry with the platform's), behind the token.
    admin = await startAdmin(
      { config, store: server.store, platform: server.platform, logger: server.context.logger, clock: server.context.clock, metrics: server.context.metrics },
      { reconcileTimer: false },
    );
  });
  afterAll(async () => {
    await admin?.close();
    await server?.close();
    await sandbox?.close();
  });

  it('a push, a token refresh, upstream calls and a 61003 flag each show as a non-zero sample', async () => {
    // A push: the sandbox pushes a ticket as soon as it knows the platform.
    sandbox.setPlatform({ componentPushUrl: `${server.url}/wechat/component`, authorizerPushUrl: `${server.url}/wechat/authorizer/$APPID$` });
    await sandbox.settled();
    // A merchant authorizes: the authorized push makes the platform refresh the component token and
    // exchange the code (upstream requests).
    const appid = sandbox.accounts.find((a) => a.type === 'miniprogram')!.appid;
    await sandbox.authorize(appid);
    await sandbox.settled();
    await server.context.pushes.drain();
    expect((await server.store.getAuthorizer(server.platform.componentAppid, appid))?.status).toBe('authorized');
    // The merchant revokes while our push URL is unreachable; the next refresh gets 61003 and flags it.
    sandbox.setPlatform({ componentPushUrl: 'http://127.0.0.1:9/wechat/component', authorizerPushUrl: 'http://127.0.0.1:9/x/$APPID$' });
    await sandbox.revoke(appid);
    await expect(server.platform.authorizerToken(appid, { force: true })).rejects.toMatchObject({ code: expect.stringMatching(/REAUTH/) });

    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${admin.url}/metrics`)).status).toBe(401);
    const res = await fetch(`${admin.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    const samples = Object.fromEntries(DOCUMENTED.map((name) => [name, largestSample(text, name)]));
    for (const name of DOCUMENTED) expect(samples[name], name).toBeGreaterThan(0);
    expect(text).toMatch(/wxopen_reauthorization_required_total\{errcode="61003"\} 1/);
    expect(text).toMatch(/wxopen_token_refreshes_total\{kind="component",outcome="[a-z_]+"\} [1-9]/);
  }, 60_000);
});
