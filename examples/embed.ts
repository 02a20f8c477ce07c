import { createWxOpen, reply, type ConfigInput } from '../src/index.js';

/** The complete platform, configured in code (`overrides` lets a test point it at the sandbox). */
export async function startWx(overrides: ConfigInput = {}) {
  const wx = await createWxOpen({
    // The same keys and rules as the environment; leave `config` out to read the environment instead.
    config: {
      WXOPEN_COMPONENT_APPID: process.env.WX_COMPONENT_APPID,
      WXOPEN_COMPONENT_SECRET: process.env.WX_COMPONENT_SECRET,
      WXOPEN_TOKEN: process.env.WX_TOKEN,
      WXOPEN_ENCODING_AES_KEY: process.env.WX_ENCODING_AES_KEY,
      WXOPEN_SECRET_KEY: process.env.WX_SECRET_KEY,
      WXOPEN_PUBLIC_URL: 'https://wx.example.com',
      WXOPEN_DATABASE_URL: 'postgres://wxopen@db.internal/wxopen',
      WXOPEN_MESSAGE_RETENTION_DAYS: 30,
      ...overrides,
    },
  });

  wx.on('message.text', (m) => reply.text(`you said: ${m.content}`));
  wx.on('event.subscribe', () => reply.news([{ title: 'Welcome', url: 'https://wx.example.com/welcome' }]));
  wx.on('event.weapp_audit_fail', (e) => {
    wx.context.logger.warn({ appid: e.authorizerAppid, reason: e.data.Reason }, 'audit failed');
  });
  wx.platform.events.on('authorizer.authorized', (e) => wx.context.logger.info(e, 'merchant authorized'));

  await wx.listen(); // push URLs, /authorize, dashboard, /healthz, /metrics; refresher and retention start
  return wx; // wx.app is the Fastify instance; await wx.close() drains and stops everything
}
