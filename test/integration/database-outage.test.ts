/**
 * PostgreSQL going away under a running instance, as a new user saw it (the database behind a TCP proxy that was
 * then killed): the admin API and the token service answer 503 with a code naming the database, a browser on the
 * dashboard gets a page in the operator's language, a merchant's callback a page in theirs, the log says it once (not every fleet scan), and everything
 * works again once the database is back, without a restart.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/store/kysely/postgres.js';
import { ADMIN_TOKEN, sessionCookie, startAdminWorld, type AdminWorld } from '../helpers/admin-world.js';
import { captureLogger } from '../helpers/logs.js';
import { freePorts } from '../helpers/ports.js';
import { dropSchema, noteSkipped, PG_URL, uniqueSchema } from '../helpers/services.js';
import { until } from '../helpers/wait.js';
import { BROWSER_ACCEPT } from '../helpers/accept.js';

const OA = 'wx3a7f2c9e1b4d6f80';
/** Must never reach an answer or a log line. */
const PASSWORD = 's3cret-pw-123';

/** A TCP proxy to the real PostgreSQL that the test can kill (every connection dropped) and bring back. */
class Proxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

const pgUrl = PG_URL;
if (pgUrl === undefined) noteSkipped('database outage on PostgreSQL', 'WXOPEN_TEST_PG_URL');
else {
  describe('PostgreSQL unreachable while the server runs', { timeout: 90_000 }, () => {
    const schema = uniqueSchema('wxo_outage');
    const { logger, lines } = captureLogger('info');
    let proxy: Proxy;
    let w: AdminWorld;
    let cookie: string;
    let state: string;

    beforeAll(async () => {
      const real = new URL(pgUrl);
      const [port] = (await freePorts(1)) as [number];
      proxy = new Proxy(port, { host: real.hostname, port: Number(real.port || 5432) });
      await proxy.start();
      const proxied = new URL(pgUrl);
      proxied.host = `127.0.0.1:${port}`;
      proxied.password = PASSWORD;
      w = await startAdminWorld({
        logger,
        fleet: { scanMs: 100 },
        store: async () => {
          const store = await createPostgresStore({ connectionString: proxied.toString(), schema, maxConnections: 4 });
          await store.migrate();
          return store;
        },
      });
      await w.settle();
      await w.sandbox.authorize(OA, [1, 2, 15]);
      await w.settle();
      cookie = await sessionCookie(w.adminUrl);
      // A merchant's signed state, from the authorization link they opened before the outage.
      const go = await fetch(`${w.url}/authorize/go?auth_type=1`, { redirect: 'manual' });
      state = new URL(new URL(go.headers.get('location')!).searchParams.get('redirect_uri')!).searchParams.get('state')!;
    });
    afterAll(async () => {
      await proxy?.start().catch(() => undefined);
      await w?.close();
      await dropSchema(pgUrl, schema);
    });

    it('answers 503 with the database named (no password), shows a page to a browser, logs it once, and recovers', async () => {
      expect((await w.api('/api/v1/status')).status).toBe(200);
      expect((await w.api(`/api/v1/authorizers/${OA}/access-token`)).status).toBe(200);

      await proxy.stop();
      const before = lines.length;

      for (const path of ['/api/v1/status', `/api/v1/authorizers/${OA}/access-token`, `/api/v1/authorizers/${OA}/access-token?force=true`]) {
        const res = await w.api(path);
        const text = await res.text();
        expect([path, res.status], text).toEqual([path, 503]);
        const body = JSON.parse(text) as { error: string; message: string };
        expect(body.error).toBe('WXO_ERR_DATABASE_UNAVAILABLE');
        expect(body.message).toContain(`PostgreSQL at 127.0.0.1:${proxy.port}`);
        expect(text).not.toContain(PASSWORD);
      }

      // A browser: the dashboard (signed in) and the sign-in form, each a page in the operator's language.
      const page = await fetch(`${w.adminUrl}/`, { headers: { accept: BROWSER_ACCEPT, 'accept-language': 'zh-CN,zh;q=0.9', cookie } });
      expect(page.status).toBe(503);
      expect(page.headers.get('content-type')).toContain('text/html');
      const html = await page.text();
      expect(html).toContain('无法连接数据库');
      expect(html).toContain('WXO_ERR_DATABASE_UNAVAILABLE');
      expect(html).not.toContain(PASSWORD);
      const signIn = await fetch(`${w.adminUrl}/login`, {
        method: 'POST',
        headers: { accept: BROWSER_ACCEPT, 'accept-language': 'en', origin: w.adminUrl, referer: `${w.adminUrl}/login` },
        body: new URLSearchParams({ token: ADMIN_TOKEN, next: '/' }),
        redirect: 'manual',
      });
      expect(signIn.status).toBe(503);
      expect(await signIn.text()).toContain('The database is unreachable');

      // A merchant mid-authorization: the callback cannot save the grant, so the merchant is told to come back
      // (503, in the merchant's language, a retry of the same address), not 出错了 with a stack in the log.
      const { authCode } = await w.sandbox.authorize(OA, [1, 2, 15]);
      const callback = `/authorize/callback?state=${state}&auth_code=${encodeURIComponent(authCode)}&expires_in=600`;
      const merchant = await fetch(`${w.url}${callback}`, { headers: { accept: BROWSER_ACCEPT, 'accept-language': 'zh-CN,zh;q=0.9' } });
      expect(merchant.status).toBe(503);
      const merchantHtml = await merchant.text();
      expect(merchantHtml).toContain('平台暂时不可用');
      expect(merchantHtml).toContain('WXO_ERR_DATABASE_UNAVAILABLE');
      expect(merchantHtml).toContain(`href="${callback.replaceAll('&', '&amp;')}"`);
      expect(merchantHtml).not.toContain('出错了');
      const asked = await fetch(`${w.url}${callback}`, { headers: { accept: 'application/json' } });
      expect([asked.status, ((await asked.json()) as { error: string }).error]).toEqual([503, 'WXO_ERR_AUTHORIZE_UNAVAILABLE']);

      // About 30 fleet scans at 100 ms: the outage is one line, not one per scan or per request.
      await new Promise((r) => setTimeout(r, 3_000));
      const during = lines.slice(before);
      expect(during.filter((l) => l.msg === 'fleet scan failed; retrying at the next interval')).toEqual([]);
      expect(during.filter((l) => l.msg === 'admin request failed' || l.msg === 'authorization page failed')).toEqual([]);
      // Every pooled connection dropped at once: one line, the rest counted.
      expect(during.filter((l) => l.msg === 'database connection lost; the pool reconnects').length).toBeLessThanOrEqual(1);
      expect(during.filter((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('database unreachable'))).toHaveLength(1);
      expect(during.length, JSON.stringify(during.map((l) => l.msg))).toBeLessThanOrEqual(12);
      expect(JSON.stringify(during)).not.toContain(PASSWORD);

      await proxy.start();
      const back = await until('the status API answering again', async () => ((await w.api('/api/v1/status')).status === 200 ? true : undefined), { timeoutMs: 20_000, intervalMs: 200 });
      expect(back).toBe(true);
      expect((await w.api(`/api/v1/authorizers/${OA}/access-token`)).status).toBe(200);
      const dashboard = await fetch(`${w.adminUrl}/`, { headers: { accept: BROWSER_ACCEPT, cookie } });
      expect(dashboard.status).toBe(200);
      await until('the recovery line', () => (lines.some((l) => l.msg === 'database reachable again') ? true : undefined), { timeoutMs: 10_000 });
    });
  });
}
