import type { Command } from 'commander';
import { loadConfig, type Config } from '../../config.js';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { startServer } from '../../server/listen.js';
import { newOperatorToken } from '../../admin/credentials.js';
import type { RunningAdmin } from '../../admin/start.js';
import { createLogger } from '../../util/logger.js';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the platform server (sandbox mode, with an embedded WeChat simulator, when no WXOPEN_COMPONENT_* credentials are set)')
    .option('-p, --port <port>', 'port to listen on (overrides PORT)')
    .option('--host <host>', 'address to bind (overrides HOST)')
    .option('--no-sandbox', 'in sandbox mode, do not start the embedded simulator (run `wxopen sandbox` yourself)')
    .action(async (opts: { port?: string; host?: string; sandbox: boolean }) => {
      const config = loadConfig({ ...process.env, ...(opts.port && { PORT: opts.port }), ...(opts.host && { HOST: opts.host }) });
      const embed = config.mode === 'sandbox' && opts.sandbox;
      // Sandbox mode is a demo: a fresh operator token per start, printed below (and required by the
      // simulator's admin API too). Real mode keeps a configured or stored one.
      const ephemeral = config.mode === 'sandbox' && config.adminToken === undefined ? newOperatorToken() : undefined;
      if (ephemeral) config.adminToken = ephemeral;
      const server = await startServer(config, { ensureTicket: !embed });
      let sandbox: Sandbox | undefined;
      if (embed) sandbox = await startEmbeddedSandbox(config, server.url);
      // Loaded on use: the OpenAPI/Swagger UI plugins are heavy for every other command.
      const { startAdmin } = await import('../../admin/start.js');
      const admin = await startAdmin({
        config,
        store: server.store,
        platform: server.platform,
        logger: server.context.logger,
        clock: server.context.clock,
        metrics: server.context.metrics,
        sandboxAdmin: sandbox ? { url: sandbox.url, token: config.adminToken } : undefined,
      });
      process.stdout.write(`${banner(config, server.url, sandbox, admin, ephemeral)}\n`);
      const shutdown = (signal: string) => {
        server.context.logger.info({ signal }, 'shutting down');
        Promise.all([admin.close(), server.close(), sandbox?.close()]).then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });
}

async function startEmbeddedSandbox(config: Config, platformUrl: string): Promise<Sandbox> {
  const base = new URL(config.apiBase);
  const local = platformUrl.replace('localhost', '127.0.0.1');
  const sandbox = await startSandbox({
    port: config.sandboxPort ?? Number(base.port),
    host: '127.0.0.1',
    component: {
      appid: config.componentAppid,
      secret: config.componentSecret,
      token: config.token,
      encodingAesKey: config.encodingAesKeys[0]!,
    },
    // Pushes the first ticket as soon as it knows the platform, then every 10 minutes.
    platform: { componentPushUrl: `${local}/wechat/component`, authorizerPushUrl: `${local}/wechat/authorizer/$APPID$` },
    pushTimestamps: 'real',
    adminToken: config.adminToken,
    logger: createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, name: 'wxopen-sandbox' }),
  });
  return sandbox;
}

function banner(config: Config, url: string, sandbox: Sandbox | undefined, admin: RunningAdmin, ephemeral: string | undefined): string {
  const lines = [
    `wxopen ${config.mode === 'sandbox' ? '(sandbox mode: demo credentials, no WeChat account needed) ' : ''}listening on ${url}`,
    `  component appid       ${config.componentAppid}`,
    `  database              ${config.databaseUrl.replace(/\/\/[^@/]*@/, '//***@')}`,
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
      `  WeChat sandbox        ${sandbox.url} (${sandbox.accounts.length} simulated accounts; admin: ${sandbox.url}/sandbox/admin)`,
      `  try                   open ${config.publicUrl}/authorize, pick an account, then: npx wxopen token component`,
    );
  }
  return lines.join('\n');
}
