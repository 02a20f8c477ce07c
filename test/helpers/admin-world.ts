import { startAdmin, type RunningAdmin } from '../../src/admin/start.js';
import { startWorld, type World, type WorldOptions } from './world.js';

export const ADMIN_TOKEN = 'test-operator-token-0123456789';

export interface AdminWorld extends World {
  admin: RunningAdmin;
  /** The operator listener's base URL. */
  adminUrl: string;
  api(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  close(): Promise<void>;
}

/** The world plus the operator listener, with the sandbox's admin API behind the same token. */
export async function startAdminWorld(options: WorldOptions = {}): Promise<AdminWorld> {
  const w = await startWorld({ ...options, env: { WXOPEN_ADMIN_TOKEN: ADMIN_TOKEN, WXOPEN_ADMIN_PORT: '0', ...options.env }, sandbox: { adminToken: ADMIN_TOKEN, ...options.sandbox } });
  const admin = await startAdmin(
    {
      config: w.config,
      store: w.store,
      platform: w.platform,
      logger: w.context.logger,
      clock: w.sandbox.clock,
      metrics: w.context.metrics,
      sandboxAdmin: { url: w.sandbox.url, token: ADMIN_TOKEN },
    },
    { reconcileTimer: false },
  );
  const adminUrl = admin.url;
  return {
    ...w,
    admin,
    adminUrl,
    api(path, init = {}) {
      const token = init.token === undefined ? ADMIN_TOKEN : init.token;
      const headers = new Headers(init.headers);
      if (token !== null) headers.set('authorization', `Bearer ${token}`);
      if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
      return fetch(`${adminUrl}${path}`, { ...init, headers });
    },
    async close() {
      await admin.close();
      await w.close();
    },
  };
}
