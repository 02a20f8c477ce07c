import type { Command } from 'commander';
import { appidArg } from '../appid-arg.js';
import { cliConfig, openCommandPlatform } from '../context.js';

interface TokenOpts {
  force?: boolean;
  showSecret?: boolean;
  json?: boolean;
}

/** Machine-readable with --json (numbers, ISO dates, arrays); aligned `key value` lines otherwise. */
function print(data: Record<string, unknown>, human: Record<string, string>, json: boolean | undefined): void {
  if (json) process.stdout.write(`${JSON.stringify(data)}\n`);
  else process.stdout.write(Object.entries(human).map(([k, v]) => `${k.padEnd(16)}${v}\n`).join(''));
}

function expiry(ms: number): string {
  return `${new Date(ms).toISOString()} (in ${Math.round((ms - Date.now()) / 60_000)} min)`;
}

/**
 * Token commands go through the same single-flight path as the server, so they never stampede.
 * `--force` obtains a new token first and swaps it in; the stored one is never dropped beforehand.
 */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('show (and if needed refresh) component and authorizer access tokens');
  token
    .command('component')
    .description('print the component_access_token and its expiry')
    .option('--force', 'obtain a new token now and replace the stored one (kept if that fails)')
    .option('--json', 'print one JSON object (expiresAt as an ISO date, expiresIn in seconds)')
    .action(async (opts: TokenOpts) => {
      const p = await openCommandPlatform(cliConfig());
      try {
        const info = opts.force ? await p.platform.component.forceRefresh() : await p.platform.component.info();
        const expiresIn = Math.round((info.expiresAt - Date.now()) / 1000);
        print(
          {
            componentAppid: p.config.componentAppid,
            accessToken: info.token,
            expiresAt: new Date(info.expiresAt).toISOString(),
            expiresIn,
            obtainedAt: new Date(info.obtainedAt).toISOString(),
          },
          { componentAppid: p.config.componentAppid, accessToken: info.token, expiresAt: expiry(info.expiresAt) },
          opts.json,
        );
      } finally {
        await p.close();
      }
    });
  token
    .command('authorizer')
    .description("print an authorizer's access token and expiry (the refresh token only with --show-secret)")
    .argument('<appid>', 'authorizer appid')
    .option('--force', 'obtain a new token now and replace the stored one (kept if that fails)')
    .option('--show-secret', 'also print the authorizer_refresh_token')
    .option('--json', 'print one JSON object (funcInfo as an array, expiresAt as an ISO date, expiresIn in seconds)')
    .action(async (appid: string, opts: TokenOpts) => {
      appidArg(appid);
      const p = await openCommandPlatform(cliConfig());
      try {
        const info = opts.force ? await p.platform.authorizers.forceRefresh(appid) : await p.platform.authorizers.info(appid);
        const record = await p.store.getAuthorizer(p.config.componentAppid, appid);
        const data: Record<string, unknown> = {
          authorizerAppid: appid,
          status: record?.status ?? null,
          funcInfo: record?.funcInfo ?? [],
          accessToken: info.token,
          expiresAt: new Date(info.expiresAt).toISOString(),
          expiresIn: Math.round((info.expiresAt - Date.now()) / 1000),
        };
        const human: Record<string, string> = {
          authorizerAppid: appid,
          status: String(record?.status),
          funcInfo: (record?.funcInfo ?? []).join(','),
          accessToken: info.token,
          expiresAt: expiry(info.expiresAt),
        };
        if (opts.showSecret && record?.refreshTokenEnc) {
          data.refreshToken = human.refreshToken = p.platform.ctx.box.open(record.refreshTokenEnc, `${p.config.componentAppid}:${appid}`);
        }
        print(data, human, opts.json);
      } finally {
        await p.close();
      }
    });
}
