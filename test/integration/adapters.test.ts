import { serve } from '@hono/node-server';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expressApp } from '../../examples/adapters/express.js';
import { fastifyApp } from '../../examples/adapters/fastify.js';
import { honoApp } from '../../examples/adapters/hono.js';
import { koaApp } from '../../examples/adapters/koa.js';
import { reply } from '../../src/messages/index.js';
import { createWxOpen, type ConfigInput, type WxOpen } from '../../src/server/create.js';
import type { Logger } from '../../src/util/logger.js';
import { badInputs, listening, startAdapterWorld, type AdapterWorld, type Mounted } from '../helpers/adapter-world.js';

/**
 * Each adapter inside its real framework (the README's examples, examples/adapters/*), over real HTTP,
 * with the sandbox pushing encrypted tickets, authorizations and messages to it as WeChat does.
 */

const MERCHANT = 'wx3a7f2c9e1b4d6f80';
const EXAMPLES = [
  'examples/adapters/next/lib/wx.ts',
  'examples/adapters/next/app/wechat/[...path]/route.ts',
  'examples/adapters/hono.ts',
  'examples/adapters/express.ts',
  'examples/adapters/koa.ts',
  'examples/adapters/fastify.ts',
];

describe('README: the adapter snippets are the examples run below', () => {
  it.each(EXAMPLES)('includes %s verbatim (importing the published names)', (path) => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const marker = `<!-- embed: ${path} -->\n\`\`\`ts\n`;
    const start = readme.indexOf(marker);
    expect(start).toBeGreaterThan(0);
    const snippet = readme.slice(start + marker.length, readme.indexOf('```', start + marker.length));
    const example = readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')
      .replace(/from '(?:\.\.\/)+src\/index\.js'/g, "from 'wxopen'")
      .replace(/from '(?:\.\.\/)+src\/adapters\/(\w+)\.js'/g, "from 'wxopen/$1'")
      .replace(/from '(?:\.\.\/)+lib\/wx\.js'/g, "from '@/lib/wx'");
    expect(snippet).toBe(example);
    // The Chinese page shows the same code.
    expect(readFileSync(new URL('../../docs/zh/embedding.md', import.meta.url), 'utf8')).toContain(`\`\`\`ts\n${example}\`\`\``);
  });
});

async function openWx(config: ConfigInput, logger: Logger): Promise<WxOpen> {
  const wx = await createWxOpen({ config, logger });
  wx.on('message.text', (m) => reply.text(`you said: ${m.content}`));
  return wx;
}

const hosts: Record<string, { open: (config: ConfigInput, logger: Logger) => Promise<WxOpen>; mount: (wx: WxOpen, port: number) => Promise<Mounted> }> = {
  'Next.js route handler (Web handler)': {
    // The route module reads the environment, as in a Next.js app.
    async open(config) {
      Object.assign(process.env, config, { LOG_LEVEL: 'silent' });
      return (await import('../../examples/adapters/next/lib/wx.js')).wx;
    },
    async mount(_wx, port) {
      const { POST } = await import('../../examples/adapters/next/app/wechat/[...path]/route.js');
      // Next.js calls the exported POST with a Request; @hono/node-server does the same from node:http.
      return listening(serve({ fetch: (request: Request) => POST(request), port, hostname: '127.0.0.1' }) as Server, port);
    },
  },
  'Hono (Web handler)': {
    open: openWx,
    mount: (wx, port) => listening(serve({ fetch: honoApp(wx).fetch, port, hostname: '127.0.0.1' }) as Server, port),
  },
  Express: {
    open: openWx,
    mount: (wx, port) => listening(expressApp(wx).listen(port, '127.0.0.1'), port),
  },
  Koa: {
    open: openWx,
    mount: (wx, port) => listening(koaApp(wx).listen(port, '127.0.0.1'), port),
  },
  'Fastify plugin': {
    open: openWx,
    async mount(wx, port) {
      const app = await fastifyApp(wx);
      await app.listen({ port, host: '127.0.0.1' });
      return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
    },
  },
};

describe.each(Object.entries(hosts))('%s', (name, host) => {
  let w: AdapterWorld;
  beforeAll(async () => {
    w = await startAdapterWorld(host.open, host.mount);
  }, 60_000);
  afterAll(async () => {
    await w?.close();
  });

  it('stores the ticket the sandbox pushes and exchanges an authorization, through the adapter', async () => {
    const ticket = await w.sandbox.pushTicket();
    expect((await w.wx.store.getTicket(w.wx.config.componentAppid))?.ticket).toBe(ticket);
    const pushes = w.sandbox.state.pushLog.filter((p) => p.target === 'component');
    expect(pushes.at(-1)).toMatchObject({ url: `${w.adapter}/wechat/component`, status: 200 });
    await w.sandbox.authorize(MERCHANT);
    await w.sandbox.settled();
    await w.wx.context.pushes.drain();
    expect(await w.wx.store.getAuthorizer(w.wx.config.componentAppid, MERCHANT)).toMatchObject({ status: 'authorized' });
  });

  it('answers a user message with an encrypted reply from the handlers', async () => {
    const answer = await w.sandbox.sendMessage(MERCHANT, { MsgType: 'text', Content: 'hi' });
    expect(answer.replyError).toBeUndefined();
    expect(answer.reply).toMatchObject({ MsgType: 'text', Content: 'you said: hi' });
    expect(w.sandbox.state.pushLog.at(-1)?.url).toBe(`${w.adapter}/wechat/authorizer/${MERCHANT}`);
  });

  it("passes WeChat's full-network-release test (built-in responder, encrypted replies, QUERY_AUTH_CODE)", async () => {
    const report = await w.sandbox.runReleaseTest('wx570bc396a51b8ff8');
    expect(report.cases.filter((c) => !c.pass)).toEqual([]);
    expect(report.pass).toBe(true);
  });

  it('refuses bad input with the same status, type and body as the server', async () => {
    const statuses: number[] = [];
    for (const [label, send] of badInputs(w)) {
      // The stale refusal names the skew in seconds, which may tick between the two requests.
      const [adapter, server] = [await send(w.adapter), await send(w.server)].map((a) => ({ ...a, body: a.body.replace(/\d+s away/, 'Ns away') }));
      expect({ label, ...adapter }).toEqual({ label, ...server });
      statuses.push(adapter!.status);
    }
    expect(statuses).toEqual([401, 401, 400, 400, 400, 413, 413, 400, 401]);
    expect(await w.wx.store.getTicket(w.wx.config.componentAppid)).not.toMatchObject({ ticket: 'ticket@@@bad-input' });
  });

  it("leaves the host's other routes and methods to the host", async () => {
    const res = await fetch(`${w.adapter}/`);
    if (name.startsWith('Next.js')) {
      // A route handler only sees its own path; this one answers anything else with a JSON 404.
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: 'WXO_ERR_NOT_FOUND' });
    } else {
      expect(await res.text()).toBe('my app');
    }
    expect((await fetch(`${w.adapter}/wechat/component`)).status).toBe(404);
  });
});
