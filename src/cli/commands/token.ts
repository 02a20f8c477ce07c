import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { openPlatform } from '../../platform.js';
import { createLogger } from '../../util/logger.js';

interface TokenOpts {
  force?: boolean;
  showSecret?: boolean;
  json?: boolean;
}

function print(data: Record<string, unknown>, json: boolean | undefined): void {
  if (json) process.stdout.write(`${JSON.stringify(data)}\n`);
  else for (const [k, v] of Object.entries(data)) process.stdout.write(`${k.padEnd(16)}${String(v)}\n`);
}

function expiry(ms: number): string {
  return `${new Date(ms).toISOString()} (in ${Math.round((ms - Date.now()) / 60_000)} min)`;
}

/** Token commands go through the same single-flight path as the server, so they never stampede. */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('show (and if needed refresh) component and authorizer access tokens');
  token
    .command('component')
    .description('print the component_access_token and its expiry')
    .option('--force', 'refresh now even if the stored token is still valid')
    .option('--json', 'print JSON')
    .action(async (opts: TokenOpts) => {
      const config = loadConfig();
      const p = await openPlatform(config, { logger: createLogger({ level: 'warn' }) });
      try {
        const info = await p.platform.component.info({ force: opts.force });
        print({ componentAppid: config.componentAppid, accessToken: info.token, expiresAt: expiry(info.expiresAt) }, opts.json);
      } finally {
        await p.close();
      }
    });
  token
    .command('authorizer')
    .description("print an authorizer's access token and expiry (the refresh token only with --show-secret)")
    .argument('<appid>', 'authorizer appid')
    .option('--force', 'refresh now even if the stored token is still valid')
    .option('--show-secret', 'also print the authorizer_refresh_token')
    .option('--json', 'print JSON')
    .action(async (appid: string, opts: TokenOpts) => {
      const config = loadConfig();
      const p = await openPlatform(config, { logger: createLogger({ level: 'warn' }) });
      try {
        const info = await p.platform.authorizers.info(appid, { force: opts.force });
        const record = await p.store.getAuthorizer(config.componentAppid, appid);
        const data: Record<string, unknown> = {
          authorizerAppid: appid,
          status: record?.status,
          funcInfo: record?.funcInfo.join(','),
          accessToken: info.token,
          expiresAt: expiry(info.expiresAt),
        };
        if (opts.showSecret && record?.refreshTokenEnc) {
          data.refreshToken = p.platform.ctx.box.open(record.refreshTokenEnc, `${config.componentAppid}:${appid}`);
        }
        print(data, opts.json);
      } finally {
        await p.close();
      }
    });
}
