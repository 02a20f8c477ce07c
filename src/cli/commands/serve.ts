import type { Command } from 'commander';
import { loadConfig, type Config } from '../../config.js';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { startServer } from '../../server/listen.js';
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
      const server = await startServer(config, { ensureTicket: !embed });
      let sandbox: Sandbox | undefined;
      if (embed) sandbox = await startEmbeddedSandbox(config, server.url);
      process.stdout.write(`${banner(config, server.url, sandbox)}\n`);
      const shutdown = (signal: string) => {
        server.context.logger.info({ signal }, 'shutting down');
        Promise.all([server.close(), sandbox?.close()]).then(
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
    // The registered entry domain (spec 14) is the host browsers use, which may differ from the push host.
    platform: { componentPushUrl: `${local}/wechat/component`, authorizerPushUrl: `${local}/wechat/authorizer/$APPID$`, entryDomain: new URL(config.publicUrl).hostname },
    pushTimestamps: 'real',
    logger: createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, name: 'wxopen-sandbox' }),
  });
  return sandbox;
}

function banner(config: Config, url: string, sandbox: Sandbox | undefined): string {
  const lines = [
    `wxopen ${config.mode === 'sandbox' ? '(sandbox mode: demo credentials, no WeChat account needed) ' : ''}listening on ${url}`,
    `  component appid       ${config.componentAppid}`,
    `  database              ${config.databaseUrl.replace(/\/\/[^@/]*@/, '//***@')}`,
    `  dashboard             ${url}/`,
    `  authorize a merchant  ${config.publicUrl}/authorize`,
    `  authorization events  ${config.publicUrl}/wechat/component`,
    `  messages and events   ${config.publicUrl}/wechat/authorizer/$APPID$`,
    `  health                ${url}/healthz`,
    `  metrics               ${url}/metrics`,
  ];
  if (sandbox) {
    lines.push(
      `  WeChat sandbox        ${sandbox.url} (${sandbox.accounts.length} simulated accounts; admin: ${sandbox.url}/sandbox/admin)`,
      `  try                   open ${config.publicUrl}/authorize, pick an account, then: npx wxopen token component`,
    );
  }
  return lines.join('\n');
}
