import { startAdmin, type RunningAdmin } from '../../src/admin/start.js';
import { createFleet, type Fleet } from '../../src/fleet/index.js';
import { startWorld, type World, type WorldOptions } from './world.js';

export const ADMIN_TOKEN = 'test-operator-token-0123456789';

export interface AdminWorldOptions extends WorldOptions {
  /** Run a deploy engine (its runner started, audit pushes wired) behind the admin surfaces. */
  fleet?: boolean | { scanMs?: number };
}

export interface AdminWorld extends World {
  admin: RunningAdmin;
  /** Present with `{ fleet: true }`. */
  fleet: Fleet | undefined;
  /** The operator listener's base URL. */
  adminUrl: string;
  api(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  close(): Promise<void>;
}

/** The world plus the operator listener, with the sandbox's admin API behind the same token. */
export async function startAdminWorld(options: AdminWorldOptions = {}): Promise<AdminWorld> {
  const w = await startWorld({ ...options, env: { WXOPEN_ADMIN_TOKEN: ADMIN_TOKEN, WXOPEN_ADMIN_PORT: '0', ...options.env }, sandbox: { adminToken: ADMIN_TOKEN, ...options.sandbox } });
  let fleet: Fleet | undefined;
  if (options.fleet) {
    const f = createFleet({ platform: w.platform, store: w.store, config: w.config, logger: w.context.logger, clock: w.sandbox.clock, metrics: w.context.metrics, ...(typeof options.fleet === 'object' && options.fleet) });
    // As createWxOpen does: audit pushes feed the deploy state machine.
    for (const type of ['event.weapp_audit_success', 'event.weapp_audit_fail', 'event.weapp_audit_delay'] as const) {
      w.messages.o.router.on(type, (m) => {
        void f.onAuditEvent(m as Parameters<Fleet['onAuditEvent']>[0]).catch(() => undefined);
        return undefined;
      });
    }
    await f.start();
    fleet = f;
  }
  const admin = await startAdmin(
    {
      config: w.config,
      store: w.store,
      platform: w.platform,
      logger: w.context.logger,
      clock: w.sandbox.clock,
      metrics: w.context.metrics,
      sandboxAdmin: { url: w.sandbox.url, token: ADMIN_TOKEN },
      fleet,
    },
    { reconcileTimer: false },
  );
  const adminUrl = admin.url;
  return {
    ...w,
    admin,
    adminUrl,
    fleet,
    api(path, init = {}) {
      const token = init.token === undefined ? ADMIN_TOKEN : init.token;
      const headers = new Headers(init.headers);
      if (token !== null) headers.set('authorization', `Bearer ${token}`);
      if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
      return fetch(`${adminUrl}${path}`, { ...init, headers });
    },
    async close() {
      await fleet?.stop();
      await admin.close();
      await w.close();
    },
  };
}

/** Signs in to the dashboard with the operator token, as the login form does; returns the session cookie (`name=value`). */
export async function sessionCookie(adminUrl: string): Promise<string> {
  const res = await fetch(`${adminUrl}/login`, { method: 'POST', body: new URLSearchParams({ token: ADMIN_TOKEN, next: '/' }), redirect: 'manual' });
  const cookie = res.headers.get('set-cookie')?.split(';')[0];
  if (res.status !== 303 || !cookie) throw new Error(`sign-in failed: ${res.status}`);
  return cookie;
}
