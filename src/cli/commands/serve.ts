import { existsSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import { portOf, redactUrl, sqlitePath, type Config } from '../../config.js';
import { ConfigError } from '../../errors.js';
import type { Sandbox } from '../../sandbox/index.js';
import {
  claimServerRuntime,
  DatabaseInUseError,
  inUseMessage,
  instancePaths,
  readServerRuntime,
  removeServerRuntime,
  SimulatorRaceError,
  tryLockDatabase,
  type InstanceLock,
  type ServerRuntime,
} from '../../server/instance.js';
import type { RunningServer } from '../../server/listen.js';
import { cliConfig, openStore, withSandboxBase } from '../context.js';
import { assertPortFree, listenFailure } from '../failures.js';
import { newOperatorToken } from '../../admin/credentials.js';
import type { RunningAdmin } from '../../admin/start.js';

/** Past the shutdown grace, how long the stores and backends get to close before the process exits anyway. */
const SHUTDOWN_MARGIN_MS = 5_000;

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the platform server (sandbox mode, with an embedded WeChat simulator, when no WXOPEN_COMPONENT_* credentials are set)')
    .option('-p, --port <port>', 'port to listen on (overrides PORT)')
    .option('--host <host>', 'address to bind (overrides HOST; default 127.0.0.1 in sandbox mode, 0.0.0.0 in real mode)')
    .option('--no-sandbox', 'in sandbox mode, do not start the embedded simulator (run `wxopen sandbox` yourself)')
    .action(async (opts: { port?: string; host?: string; sandbox: boolean }) => {
      // Named as the user gave it (the configuration would call it PORT), and before anything is opened or created.
      if (opts.port !== undefined && portOf(opts.port) === undefined) throw new ConfigError('--port', 'must be a whole number from 0 to 65535');
      let config = cliConfig({ PORT: opts.port, HOST: opts.host });
      let embed = config.mode === 'sandbox' && opts.sandbox;
      // Sandbox mode is a demo: a fresh operator token per start, printed below (and required by the
      // simulator's admin API too). Real mode keeps a configured or stored one.
      const ephemeral = config.mode === 'sandbox' && config.adminToken === undefined ? newOperatorToken() : undefined;
      if (ephemeral) config.adminToken = ephemeral;
      const paths = instancePaths(config);
      // Several sandbox-mode instances on one PostgreSQL database share the first one's simulated WeChat, as real
      // instances share WeChat: a simulator each made each instance's tickets and tokens unknown to the others'.
      const joined = embed && paths.lock === undefined ? readServerRuntime(paths.runtime) : undefined;
      if (joined?.sandboxUrl !== undefined) {
        config = withSandboxBase(config, joined.sandboxUrl);
        embed = false;
      }
      let lock: InstanceLock | undefined;
      const newLock = paths.lock !== undefined && !existsSync(paths.lock);
      if (paths.lock) {
        lock = tryLockDatabase(paths.lock);
        if (!lock) throw new DatabaseInUseError(inUseMessage(sqlitePath(config.databaseUrl)!, readServerRuntime(paths.runtime)));
      }
      // After the lock (a second server on the same database is named as such), before the database: a busy
      // port leaves no new database or lock file behind.
      try {
        await assertPortFree(config.host, config.port, 'PORT or --port');
        if (embed) await assertPortFree('127.0.0.1', config.sandboxPort ?? 0, 'WXOPEN_SANDBOX_PORT');
        await assertPortFree(config.adminHost, config.adminPort, 'WXOPEN_ADMIN_PORT');
      } catch (err) {
        lock?.release();
        if (newLock) rmSync(paths.lock!, { force: true });
        throw err;
      }
      let server: RunningServer | undefined;
      let sandbox: Sandbox | undefined;
      let admin: RunningAdmin | undefined;
      try {
        const { startServer } = await import('../../server/listen.js');
        const store = await openStore(config);
        server = await startServer(config, { ensureTicket: !embed, store }).catch((err: unknown) => {
          throw listenFailure(err, config.host, config.port, 'PORT or --port');
        });
        if (embed) {
          sandbox = await startEmbeddedSandbox(config, server.url, paths.sandboxState).catch((err: unknown) => {
            throw listenFailure(err, '127.0.0.1', config.sandboxPort ?? 0, 'WXOPEN_SANDBOX_PORT');
          });
        }
        // Loaded on use: the OpenAPI/Swagger UI plugins are heavy for every other command.
        const { startAdmin } = await import('../../admin/start.js');
        admin = await startAdmin({
          config,
          store: server.store,
          platform: server.platform,
          logger: server.context.logger,
          clock: server.context.clock,
          metrics: server.context.metrics,
          sandboxAdmin: sandbox ? { url: sandbox.url, token: config.adminToken } : undefined,
          fleet: server.wx.fleet,
        }).catch((err: unknown) => {
          throw listenFailure(err, config.adminHost, config.adminPort, 'WXOPEN_ADMIN_PORT');
        });
        const sandboxUrl = sandbox?.url ?? joined?.sandboxUrl;
        // A later instance leaves the first one's record alone (and so keeps it at its stop).
        const holder = claimServerRuntime(paths.runtime, { pid: process.pid, url: server.url, ...(sandboxUrl !== undefined && { sandboxUrl }), startedAt: new Date().toISOString() });
        if (holder?.sandboxUrl !== undefined && sandbox !== undefined) {
          throw new SimulatorRaceError(
            `the wxopen server pid ${holder.pid} (${holder.url}) started a simulated WeChat for this database at the same time (${holder.sandboxUrl}); one per database: start this one again to share it`,
          );
        }
      } catch (err) {
        await admin?.close().catch(() => {});
        await sandbox?.close().catch(() => {});
        await server?.close().catch(() => {});
        lock?.release();
        throw err;
      }
      const running = server;
      const runningAdmin = admin;
      // package.json's engines only warn at install, where nobody reads it; the running server says it where it is read.
      if (Number(process.versions.node.split('.')[0]) < 22) {
        running.context.logger.warn({ node: process.version }, `Node.js ${process.version} is past its end of life and not supported; run wxopen on Node.js 22.12 or later (24, 26)`);
      }
      const shutdown = (signal: string) => {
        running.context.logger.info({ signal }, 'shutting down');
        // However a close hangs (a backend that never answers), the process ends: the grace for open requests,
        // then a margin for the stores. Every answered push is already durable, so nothing answered is lost.
        const deadline = config.shutdownGraceMs + SHUTDOWN_MARGIN_MS;
        const exit = (code: number): never => {
          removeServerRuntime(paths.runtime);
          lock?.release();
          process.exit(code);
        };
        setTimeout(() => {
          running.context.logger.error({ signal, afterMs: deadline }, 'shutdown did not finish in time; exiting');
          exit(1);
        }, deadline).unref();
        Promise.all([runningAdmin.close(), running.close(), sandbox?.close()]).then(
          () => exit(0),
          () => exit(1),
        );
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
      // After the handlers: whoever waits for the banner may signal at once (a busy machine can pause this
      // process between a write and the next line, and an unhandled SIGTERM would skip the cleanup).
      process.stdout.write(`${banner(config, server.url, sandbox, paths.sandboxState, admin, ephemeral, joined)}\n`);
    });
}

async function startEmbeddedSandbox(config: Config, platformUrl: string, stateFile: string): Promise<Sandbox> {
  const [{ startSandbox }, { createLogger }] = await Promise.all([import('../../sandbox/index.js'), import('../../util/logger.js')]);
  const base = new URL(config.apiBase);
  const local = platformUrl.replace('localhost', '127.0.0.1');
  const sandbox = await startSandbox({
    port: config.sandboxPort ?? Number(base.port),
    host: '127.0.0.1',
    // Browsers reach it where the authorization pages are (localhost), not where it binds (127.0.0.1).
    ...(new URL(config.mpBase).port !== '0' && { publicUrl: config.mpBase }),
    component: {
      appid: config.componentAppid,
      secret: config.componentSecret,
      token: config.token,
      encodingAesKey: config.encodingAesKeys[0]!,
    },
    // Pushes the first ticket as soon as it knows the platform, then every 10 minutes.
    // The registered entry domain (spec 14) is the host browsers use, which may differ from the push host.
    platform: { componentPushUrl: `${local}/wechat/component`, authorizerPushUrl: `${local}/wechat/authorizer/$APPID$`, entryDomain: new URL(config.publicUrl).hostname },
    pushTimestamps: 'real',
    // What the simulated WeChat knows (tokens, authorizations…) survives restarts, like the database.
    stateFile,
    adminToken: config.adminToken,
    logger: createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, name: 'wxopen-sandbox' }),
  });
  return sandbox;
}

function banner(config: Config, url: string, sandbox: Sandbox | undefined, stateFile: string, admin: RunningAdmin, ephemeral: string | undefined, joined: ServerRuntime | undefined): string {
  const lines = [
    `wxopen ${config.mode === 'sandbox' ? '(sandbox mode: demo credentials, no WeChat account needed) ' : ''}listening on ${url}`,
    `  component appid       ${config.componentAppid}`,
    `  database              ${redactUrl(config.databaseUrl)}`,
    `  dashboard             ${admin.url}/ (operator listener, ${config.adminHost}; API ${admin.url}/api/v1, docs ${admin.url}/docs)`,
    `  authorize a merchant  ${config.publicUrl}/authorize`,
    `  authorization events  ${config.publicUrl}/wechat/component`,
    `  messages and events   ${config.publicUrl}/wechat/authorizer/$APPID$`,
    `  health                ${url}/healthz`,
    `  metrics               ${admin.url}/metrics (operator token or a key with the metrics scope)`,
  ];
  if (ephemeral) lines.push(`  admin token           ${ephemeral} (new at every start in sandbox mode; set WXOPEN_ADMIN_TOKEN to keep one)`);
  else if (admin.generatedToken) {
    lines.push(
      `  admin token           ${admin.generatedToken}`,
      '                        shown once: only its hash is stored. Keep it; `wxopen admin reset-token` makes a new one.',
    );
  } else lines.push(`  admin token           ${admin.tokenSource === 'config' ? 'from WXOPEN_ADMIN_TOKEN' : 'stored hashed (`wxopen admin reset-token` to replace it)'}`);
  if (sandbox) {
    lines.push(
      `  WeChat sandbox        ${sandbox.url} (${sandbox.accounts.length} simulated accounts)`,
      // The simulator's admin API answers JSON 401 to a browser: the link to open is the dashboard's page.
      `  sandbox controls      ${admin.url}/sandbox (dashboard); API ${sandbox.url}/sandbox/admin (Bearer admin token)`,
      `  sandbox state         ${stateFile}`,
    );
  } else if (joined?.sandboxUrl !== undefined) {
    lines.push(`  WeChat sandbox        ${joined.sandboxUrl} (shared: run by the wxopen server pid ${joined.pid}, ${joined.url}, on this database)`);
  }
  if (sandbox || joined?.sandboxUrl !== undefined) {
    lines.push(`  try                   open ${config.publicUrl}/authorize, pick an account, then: npx wxopen token component`);
  }
  return lines.join('\n');
}
