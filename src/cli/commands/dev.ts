import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { signPush } from '../../crypto/reply.js';
import { buildXml } from '../../xml/build.js';

interface PushOptions {
  url: string;
  ticket?: string;
  print?: boolean;
}

/** Developer helpers: build pushes exactly as WeChat would, signed with the configured credentials. */
export function registerDevCommands(program: Command): void {
  const dev = program.command('dev').description('developer tools: send signed, encrypted pushes to a running server');
  dev
    .command('push-ticket')
    .description('send a component_verify_ticket push to the authorization-event URL')
    .option('--url <url>', 'base URL of the running server', `http://localhost:${process.env.PORT ?? '3000'}`)
    .option('--ticket <ticket>', 'ticket value (default: a random one)')
    .option('--print', 'print the curl command instead of sending')
    .action(async (opts: PushOptions) => {
      const config = loadConfig();
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
      const target = `${opts.url.replace(/\/+$/, '')}/wechat/component?${new URLSearchParams(push.query)}`;
      if (opts.print) {
        process.stdout.write(`curl -sS -X POST -H 'Content-Type: text/xml' --data '${push.body}' '${target}'\n`);
        return;
      }
      const res = await fetch(target, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: push.body });
      const text = await res.text();
      process.stdout.write(`${res.status} ${text}\n`);
      if (!res.ok) process.exitCode = 1;
    });
}
