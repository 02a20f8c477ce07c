import type { SandboxAccount } from './accounts.js';
import { buildSandboxApp } from './app.js';
import type { SandboxControls } from './controls.js';
import type { Counters } from './counters.js';
import type { SandboxClock } from './clock.js';
import type { SandboxOptions } from './options.js';
import type { SandboxState } from './state.js';

export { buildSandboxApp, DEFAULT_SANDBOX_COMPONENT } from './app.js';
export type { SandboxApp } from './app.js';
export { defaultAccounts } from './accounts.js';
export type { SandboxAccount, AccountType, AccountCategory } from './accounts.js';
export { createSandboxClock } from './clock.js';
export type { SandboxClock } from './clock.js';
export type { SandboxControls } from './controls.js';
export { wxError, ERRMSG } from './errors.js';
export type { WxErrorBody } from './errors.js';
export type { Fault } from './faults.js';
export { DEFAULT_DAILY_QUOTAS } from './options.js';
export type { SandboxOptions, SandboxComponent, SandboxPlatform, RefreshTokenMode, AuditOutcome } from './options.js';
export { API_PERMISSIONS, FUNC_SETS } from './permissions.js';
export type { PermissionRule } from './permissions.js';
export type { Delivery, MessageReply } from './pusher.js';
export type { PushRecord, SentMessage } from './state.js';
export { sandboxTemplateId } from './routes/oa.js';
export type { Draft, Template } from './templates.js';
export type { ReleaseTestCase, ReleaseTestOptions, ReleaseTestReport } from './release-test.js';
export { ENTRY_DOMAIN_ERROR } from './pages.js';

export interface Sandbox extends SandboxControls {
  /** Base URL; use it as WXOPEN_API_BASE, WXOPEN_MP_BASE and WXOPEN_OPEN_BASE. */
  url: string;
  clock: SandboxClock;
  accounts: readonly SandboxAccount[];
  /** Upstream calls by endpoint path (and by account, where one is involved). */
  counters: Pick<Counters, 'get' | 'times' | 'reset' | 'all'>;
  /** Live state, for assertions; treat it as read-only. */
  state: SandboxState;
  close(): Promise<void>;
}

/**
 * Starts the simulated WeChat on a loopback port and, when a platform is configured, pushes the
 * first component_verify_ticket.
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const { app, context, controls, clock } = await buildSandboxApp(options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `http://${urlHost}:${port}`;
  context.publicUrl ??= url;
  context.scheduler.start();
  return {
    ...controls,
    url,
    clock,
    accounts: [...context.state.accounts.values()],
    counters: {
      get: (path, appid) => context.counters.get(path, appid),
      times: (path) => context.counters.times(path),
      reset: () => context.counters.reset(),
      all: () => context.counters.all(),
    },
    state: context.state,
    close: () => app.close(),
  };
}
