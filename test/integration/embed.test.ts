import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWx } from '../../examples/embed.js';
import { ConfigError } from '../../src/errors.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { createWxOpen, type WxOpen } from '../../src/server/create.js';
import { TEST_COMPONENT } from '../helpers/component.js';

const README = new URL('../../README.md', import.meta.url);
const EXAMPLE = new URL('../../examples/embed.ts', import.meta.url);

describe('README: the embed snippet is examples/embed.ts', () => {
  it('includes the example verbatim (importing the published package name)', () => {
    const readme = readFileSync(README, 'utf8');
    const marker = '<!-- embed: examples/embed.ts -->\n```ts\n';
    const start = readme.indexOf(marker);
    expect(start).toBeGreaterThan(0);
    const snippet = readme.slice(start + marker.length, readme.indexOf('```', start + marker.length));
    const example = readFileSync(EXAMPLE, 'utf8').replace("from '../src/index.js'", "from 'wxopen'");
    expect(snippet).toBe(example);
  });
});

describe('createWxOpen: the embed example against the sandbox', () => {
  let sandbox: Sandbox;
  let wx: WxOpen;
  beforeAll(async () => {
    sandbox = await startSandbox({ component: TEST_COMPONENT, ticketIntervalMs: 0 });
    const c = sandbox.state.component;
    wx = await startWx({
      WXOPEN_COMPONENT_APPID: c.appid,
      WXOPEN_COMPONENT_SECRET: c.secret,
      WXOPEN_TOKEN: c.token,
      WXOPEN_ENCODING_AES_KEY: c.encodingAesKey,
      WXOPEN_SECRET_KEY: 'ab'.repeat(32),
      WXOPEN_DATABASE_URL: 'sqlite::memory:',
      WXOPEN_API_BASE: sandbox.url,
      WXOPEN_API_BACKUP_BASES: [],
      WXOPEN_MP_BASE: sandbox.url,
      WXOPEN_OPEN_BASE: sandbox.url,
      PORT: 0,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
    });
    // Known only after listen: where WeChat (the sandbox) reaches the platform.
    wx.config.publicUrl = wx.url!;
    sandbox.setPlatform({ componentPushUrl: `${wx.url}/wechat/component`, authorizerPushUrl: `${wx.url}/wechat/authorizer/$APPID$` });
    await sandbox.settled();
  }, 60_000);
  afterAll(async () => {
    await wx?.close();
    await sandbox?.close();
  });

  it('serves the whole platform: ticket, authorized push exchange, /authorize, health', async () => {
    expect(await wx.store.getTicket(wx.config.componentAppid)).toBeDefined();
    await sandbox.authorize('wx3a7f2c9e1b4d6f80');
    await sandbox.settled();
    await wx.context.pushes.drain();
    expect(await wx.store.getAuthorizer(wx.config.componentAppid, 'wx3a7f2c9e1b4d6f80')).toMatchObject({ status: 'authorized' });
    const page = await fetch(`${wx.url}/authorize`);
    expect(await page.text()).toContain('/authorize/go?');
    expect((await fetch(`${wx.url}/healthz`)).status).toBe(200);
    expect(wx.config.messageRetentionDays).toBe(30);
  });

  it("answers messages with the example's handlers", async () => {
    const text = await sandbox.sendMessage('wx3a7f2c9e1b4d6f80', { MsgType: 'text', Content: 'hi' });
    expect(text.reply).toMatchObject({ MsgType: 'text', Content: 'you said: hi', FromUserName: 'gh_5e2a9c7b1d3f' });
    const follow = await sandbox.sendMessage('wx3a7f2c9e1b4d6f80', { MsgType: 'event', Event: 'subscribe' });
    expect(follow.reply).toMatchObject({ MsgType: 'news', ArticleCount: '1', Articles: { item: { Title: 'Welcome' } } });
  });

  it('passes the full-network-release test with the built-in responder (on by default)', async () => {
    expect((await sandbox.runReleaseTest('wx8e1097c5bc82cde9')).pass).toBe(true);
    expect((await sandbox.runReleaseTest('wx7720d01d4b2a4500')).pass).toBe(true);
  });
});

describe('createWxOpen configuration', () => {
  it('validates a config object with the same schema and messages as the environment', async () => {
    await expect(createWxOpen({ config: { WXOPEN_COMPONENT_APPID: 'not-an-appid' } })).rejects.toThrow(ConfigError);
    await expect(createWxOpen({ config: { WXOPEN_MESSAGE_RETENTION_DAYS: -1 } })).rejects.toThrow(/WXOPEN_MESSAGE_RETENTION_DAYS/);
  });

  it('reads the environment when no config is given', async () => {
    const wx = await createWxOpen({ env: { WXOPEN_DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent', WXOPEN_RELEASE_TEST_RESPONDER: 'off' } });
    try {
      expect(wx.config).toMatchObject({ mode: 'sandbox', releaseTestResponder: false, messageRetentionDays: 7, messageReplyBudgetMs: 4500 });
      const res = await wx.app.inject({ method: 'GET', url: '/healthz' });
      expect(res.statusCode).toBe(200);
    } finally {
      await wx.close();
    }
  });
});
