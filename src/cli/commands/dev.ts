import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { signPush } from '../../crypto/reply.js';
import { instancePaths, readServerRuntime } from '../../server/instance.js';
import { buildXml } from '../../xml/build.js';
import { cliConfig } from '../context.js';
import { CliError, describeCause } from '../failures.js';

interface PushOptions {
  url?: string;
  ticket?: string;
  print?: boolean;
  real?: boolean;
  json?: boolean;
}

/** Developer helpers: build pushes exactly as WeChat would, signed with the configured credentials. */
export function registerDevCommands(program: Command): void {
  const dev = program.command('dev').description('developer tools: send signed, encrypted pushes to a running server');
  dev
    .command('push-ticket')
    .description('send a component_verify_ticket push to the authorization-event URL')
    .option(
      '--url <url>',
      "the server's base URL, e.g. http://127.0.0.1:4770; its push URL (…/wechat/component) is taken as well (default: the project's running server, else http://localhost:$PORT)",
    )
    .option('--ticket <ticket>', 'ticket value (default: a random one)')
    .option('--print', 'print the curl command instead of sending')
    .option('--real', 'allow it in real mode: the pushed ticket replaces the one WeChat pushed until its next push')
    .option('--json', 'print one JSON object: {"status":200,"body":"success","ticket":…}')
    .action(async (opts: PushOptions) => {
      const config = cliConfig();
      if (config.mode === 'real' && !opts.real) {
        throw new CliError('WXO_ERR_REAL_MODE', 'refusing to push a made-up ticket with real credentials (it would replace the ticket WeChat pushed); add --real if you mean it');
      }
      if (opts.url !== undefined && !/^https?:\/\/[^/]/i.test(opts.url)) {
        throw new CliError('WXO_ERR_USAGE', `--url must be the server's http:// or https:// base URL (or its …/wechat/component push URL), not ${JSON.stringify(opts.url)}`);
      }
      const runtime = readServerRuntime(instancePaths(config).runtime);
      // The push URL is what WeChat's console and the serve banner show, so it is what people paste.
      const url = (opts.url ?? runtime?.url ?? `http://localhost:${config.port}`).replace(/\/+$/, '').replace(/\/wechat\/component$/, '');
      const now = Math.floor(Date.now() / 1000);
      const ticket = opts.ticket ?? `ticket@@@${randomBytes(24).toString('base64url')}`;
      const message = buildXml({
        AppId: config.componentAppid,
        CreateTime: now,
        InfoType: 'component_verify_ticket',
        ComponentVerifyTicket: ticket,
      });
      const push = signPush(message, {
        token: config.token,
        encodingAesKey: config.encodingAesKeys[0]!,
        appid: config.componentAppid,
        timestamp: String(now),
      });
      const target = `${url}/wechat/component?${new URLSearchParams(push.query)}`;
      if (opts.print) {
        process.stdout.write(`curl -sS -X POST -H 'Content-Type: text/xml' --data '${push.body}' '${target}'\n`);
        return;
      }
      let res: Response;
      try {
        res = await fetch(target, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: push.body, signal: AbortSignal.timeout(10_000) });
      } catch (err) {
        throw new CliError('WXO_ERR_SERVER_UNREACHABLE', `cannot reach the server at ${url}: ${describeCause(err)} (is \`wxopen serve\` running? --url sets where)`, { cause: err });
      }
      const text = await res.text();
      if (opts.json) process.stdout.write(`${JSON.stringify({ status: res.status, body: text, ticket, url })}\n`);
      else process.stdout.write(`${res.status} ${text}\n`);
      if (!res.ok) process.exitCode = 1;
    });
}
