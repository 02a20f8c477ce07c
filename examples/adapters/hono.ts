import { Hono } from 'hono';
import type { WxOpen } from '../../src/index.js';
import { createWebHandler } from '../../src/adapters/web.js';

export function honoApp(wx: WxOpen) {
  const app = new Hono();
  const wechat = createWebHandler(wx); // (request: Request) => Promise<Response>
  app.post('/wechat/*', (c) => wechat(c.req.raw));
  app.get('/', (c) => c.text('my app'));
  return app; // Bun, Deno: `export default app`; Node: `serve(app)` from @hono/node-server
}
