import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { LOG_LEVEL_PROBLEM, LOG_LEVELS, SANDBOX_DEFAULTS, type LogLevel } from '../../config.js';
import { listenFailure } from '../failures.js';

interface SandboxCommandOptions {
  port: number;
  host: string;
  platform: string;
  ticketInterval: number;
  auditDelay: number;
  refreshTokenMode: 'stable' | 'rotate';
  logLevel: LogLevel;
  stateFile?: string;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('must be a whole number');
  return n;
}

function port(value: string): number {
  const n = nonNegativeInt(value);
  if (n > 65535) throw new InvalidArgumentError('must be a whole number from 0 to 65535');
  return n;
}

function mode(value: string): 'stable' | 'rotate' {
  if (value !== 'stable' && value !== 'rotate') throw new InvalidArgumentError('must be stable or rotate');
  return value;
}

// Checked here: pino would otherwise refuse an unknown level with its own message, after startup began.
function logLevel(value: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === value);
  if (level === undefined) throw new InvalidArgumentError(LOG_LEVEL_PROBLEM);
  return level;
}

/** `wxopen sandbox`: the simulated WeChat on its own port, for a platform started separately. */
export function registerSandboxCommand(program: Command): void {
  program
    .command('sandbox')
    .description('run the WeChat simulator alone (API, authorization pages, pushes) for a platform to point at')
    .option('-p, --port <port>', 'port to listen on', port, 4000)
    .option('--host <host>', 'address to bind (keep it loopback)', '127.0.0.1')
    .option('--platform <url>', 'base URL of the platform that receives pushes (/wechat/component, /wechat/authorizer/$APPID$)', 'http://localhost:3000')
    .option('--ticket-interval <seconds>', 'component_verify_ticket push interval on the sandbox clock; 0 disables', nonNegativeInt, 600)
    .option('--audit-delay <seconds>', 'time from submit_audit to the audit result push', nonNegativeInt, 60)
    .option('--refresh-token-mode <mode>', 'authorizer_refresh_token behaviour: stable (WeChat today) or rotate (catches lost rotations)', mode, 'stable')
    .option('--log-level <level>', 'sandbox log level', logLevel, 'warn')
    .option('--state-file <path>', 'keep the simulated WeChat (tokens, authorizations, quotas, clock) in this JSON file across restarts')
    .addHelpText(
      'after',
      `
The sandbox uses the demo component credentials (SANDBOX_DEFAULTS), prints the environment a platform
needs, and pushes a component_verify_ticket to the platform right away and every --ticket-interval.
Time can be moved with POST /sandbox/admin/clock/advance {"seconds":N}; see GET /sandbox/admin.`,
    )
    .action(async (opts: SandboxCommandOptions) => {
      const [{ startSandbox }, { createLogger }] = await Promise.all([import('../../sandbox/index.js'), import('../../util/logger.js')]);
      const platform = opts.platform.replace(/\/+$/, '');
      const sandbox = await startSandbox({
        port: opts.port,
        host: opts.host,
        platform: { componentPushUrl: `${platform}/wechat/component`, authorizerPushUrl: `${platform}/wechat/authorizer/$APPID$` },
        ticketIntervalMs: opts.ticketInterval * 1000,
        auditDelaySeconds: opts.auditDelay,
        refreshTokenMode: opts.refreshTokenMode,
        // The platform runs in another process on real time; stamping pushes with the advanced
        // sandbox clock would make its replay window refuse them.
        pushTimestamps: 'real',
        ...(opts.stateFile && { stateFile: resolve(opts.stateFile) }),
        logger: createLogger({ level: opts.logLevel, name: 'wxopen-sandbox' }),
      }).catch((err: unknown) => {
        throw listenFailure(err, opts.host, opts.port, '--port');
      });
      const c = sandbox.state.component;
      const lines = [
        `wxopen sandbox (simulated WeChat) listening on ${sandbox.url}`,
        '',
        'Point a platform at it with (sandbox mode: real mode refuses these public demo credentials; `wxopen serve --no-sandbox`):',
        '  WXOPEN_MODE=sandbox',
        `  WXOPEN_API_BASE=${sandbox.url}`,
        `  WXOPEN_API_BACKUP_BASES=${sandbox.url}`,
        `  WXOPEN_MP_BASE=${sandbox.url}`,
        `  WXOPEN_OPEN_BASE=${sandbox.url}`,
        `  WXOPEN_COMPONENT_APPID=${c.appid}`,
        `  WXOPEN_COMPONENT_SECRET=${c.secret}`,
        `  WXOPEN_TOKEN=${c.token}`,
        `  WXOPEN_ENCODING_AES_KEY=${c.encodingAesKey}`,
        `  WXOPEN_PUBLIC_URL=${platform}`,
        `  WXOPEN_SECRET_KEY=${SANDBOX_DEFAULTS.WXOPEN_SECRET_KEY}   (demo key: for real mode generate your own with openssl rand -hex 32)`,
        '',
        `Pushes go to ${platform}/wechat/component and ${platform}/wechat/authorizer/$APPID$`,
        `Accounts: ${sandbox.accounts.length} (${sandbox.accounts.filter((a) => a.testGroup === undefined).map((a) => `${a.appid} ${a.nickName || '(no name)'}`).join(', ')}, plus the release test groups)`,
        '',
        'Admin:',
        `  ${sandbox.url}/sandbox/admin                 list of admin endpoints`,
        `  ${sandbox.url}/sandbox/admin/state           state summary`,
        `  ${sandbox.url}/sandbox/admin/counters        upstream call counters`,
        `  ${sandbox.url}/sandbox/admin/pushes          push log (deliveries and failures)`,
        `  curl -X POST ${sandbox.url}/sandbox/admin/clock/advance -d '{"seconds":600}' -H 'content-type: application/json'`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      const shutdown = () => {
        sandbox.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });
}
