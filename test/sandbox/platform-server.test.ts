import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildApp, type WxOpenApp } from '../../src/server/app.js';
import { createStore } from '../../src/store/create-store.js';
import type { Store } from '../../src/store/types.js';
import { createLogger } from '../../src/util/logger.js';
import { buildXml } from '../../src/xml/build.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';

/** The sandbox's pushes must pass wxopen's own strict receiver (signature, decryption, replay window). */
describe('sandbox pushes against the wxopen platform server', () => {
  let store: Store;
  let platform: WxOpenApp;
  let url: string;
  let sandbox: Sandbox;
  const seen: string[] = [];

  beforeAll(async () => {
    store = await createStore('sqlite::memory:');
    const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent' });
    sandbox = await startSandbox({ ticketIntervalMs: 600_000 });
    platform = await buildApp({
      config,
      store,
      logger: createLogger({ level: 'silent' }),
      // One world time: the platform's replay window follows the sandbox clock.
      clock: sandbox.clock,
      onMessage: [
        ({ fields }) =>
          fields.Content === 'ping'
            ? buildXml({ ToUserName: String(fields.FromUserName), FromUserName: String(fields.ToUserName), CreateTime: 1, MsgType: 'text', Content: 'pong' })
            : undefined,
      ],
    });
    platform.context.pushes.onAny((event) => {
      seen.push(event.type);
    });
    await platform.app.listen({ port: 0, host: '127.0.0.1' });
    const address = platform.app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    sandbox.setPlatform({ componentPushUrl: `${url}/wechat/component`, authorizerPushUrl: `${url}/wechat/authorizer/$APPID$` });
    await sandbox.settled();
  });
  afterAll(async () => {
    await sandbox.close();
    await platform.app.close();
    await store.close();
  });

  it('accepts tickets (also after a clock advance), authorization events and messages', async () => {
    await sandbox.advance(10 * 60_000);
    await sandbox.authorize('wx3a7f2c9e1b4d6f80', [1]);
    const reply = await sandbox.sendMessage('wx3a7f2c9e1b4d6f80', { MsgType: 'text', Content: 'ping' });
    expect(sandbox.state.pushLog.filter((p) => p.error !== undefined)).toEqual([]);
    expect(sandbox.state.pushLog.map((p) => p.status)).toEqual([200, 200, 200, 200]);
    expect(reply.replyError).toBeUndefined();
    expect(reply.reply).toMatchObject({ Content: 'pong', FromUserName: 'gh_5e2a9c7b1d3f' });
    await platform.context.pushes.drain();
    expect(seen.filter((t) => t === 'component_verify_ticket')).toHaveLength(2);
    expect(seen).toContain('authorized');
  });
});
