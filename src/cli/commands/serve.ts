import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { startServer } from '../../server/listen.js';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the platform server (sandbox mode when no WXOPEN_COMPONENT_* credentials are set)')
    .option('-p, --port <port>', 'port to listen on (overrides PORT)')
    .option('--host <host>', 'address to bind (overrides HOST)')
    .action(async (opts: { port?: string; host?: string }) => {
      const config = loadConfig({ ...process.env, ...(opts.port && { PORT: opts.port }), ...(opts.host && { HOST: opts.host }) });
      const server = await startServer(config);
      const lines = [
        `wxopen ${config.mode === 'sandbox' ? '(sandbox mode: demo credentials, no WeChat account needed)' : ''} listening on ${server.url}`,
        `  component appid       ${config.componentAppid}`,
        `  database              ${config.databaseUrl.replace(/\/\/[^@/]*@/, '//***@')}`,
        `  authorization events  ${config.publicUrl}/wechat/component`,
        `  messages and events   ${config.publicUrl}/wechat/authorizer/$APPID$`,
        `  health                ${server.url}/healthz`,
        `  metrics               ${server.url}/metrics`,
        config.mode === 'sandbox' ? `  try                   npx wxopen dev push-ticket --url ${server.url}` : '',
      ];
      process.stdout.write(`${lines.filter(Boolean).join('\n')}\n`);
      const shutdown = (signal: string) => {
        server.context.logger.info({ signal }, "shutting down");
        server.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });
}
