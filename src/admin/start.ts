import type { FastifyInstance } from 'fastify';
import { buildAdminApp, type AdminRoute } from './app.js';
import type { AdminContext, AdminDeps } from './context.js';
import { OPERATOR_KEY_ID, SCOPES } from './credentials.js';
import { AdminAuth } from './credentials.js';
import { errorFields } from '../util/log-error.js';

export interface RunningAdmin {
  app: FastifyInstance;
  routes: AdminRoute[];
  context: AdminContext;
  url: string;
  /** Set only when this start generated the operator token: print it once, it is stored hashed. */
  generatedToken: string | undefined;
  tokenSource: 'config' | 'stored' | 'generated' | 'ephemeral';
  close(): Promise<void>;
}

/**
 * Starts the operator listener (WXOPEN_ADMIN_HOST:WXOPEN_ADMIN_PORT, loopback by default) and the
 * daily reconciliation. Real mode without WXOPEN_ADMIN_TOKEN stores a generated token's hash; sandbox
 * mode makes a fresh token each start (printed in the banner), since its data is a demo.
 */
export async function startAdmin(deps: AdminDeps, options: { listen?: boolean; reconcileTimer?: boolean } = {}): Promise<RunningAdmin> {
  const { config, store, clock, logger } = deps;
  const auth = new AdminAuth(store, config.componentAppid, () => clock.now());
  const init = await auth.init(config.adminToken, { persist: config.mode === 'real' });
  const { app, context, routes } = await buildAdminApp(deps, { auth });
  let url = '';
  if (options.listen !== false) {
    await app.listen({ port: config.adminPort, host: config.adminHost });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.adminPort;
    const host = config.adminHost === '0.0.0.0' || config.adminHost === '::' ? 'localhost' : config.adminHost;
    url = `http://${host}:${port}`;
  }
  let timer: NodeJS.Timeout | undefined;
  if (options.reconcileTimer !== false && config.reconcileIntervalHours > 0) {
    const system = { keyId: `${OPERATOR_KEY_ID}:scheduler`, operator: true, scopes: new Set<string>(SCOPES), authorizers: null };
    timer = setInterval(() => {
      context.runReconcile(system).catch((err: unknown) => logger.warn(errorFields(err), 'scheduled reconciliation failed; retried at the next interval'));
    }, config.reconcileIntervalHours * 3600_000);
    timer.unref();
  }
  return {
    app,
    routes,
    context,
    url,
    generatedToken: init.generated,
    tokenSource: init.source,
    async close() {
      if (timer) clearInterval(timer);
      await app.close();
    },
  };
}
