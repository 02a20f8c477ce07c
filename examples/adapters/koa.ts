import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import type { WxOpen } from '../../src/index.js';
import { createKoaMiddleware } from '../../src/adapters/koa.js';

export function koaApp(wx: WxOpen) {
  const app = new Koa();
  app.use(createKoaMiddleware(wx)); // before or after a body parser that keeps ctx.request.rawBody
  app.use(bodyParser());
  app.use((ctx) => {
    if (ctx.path === '/') ctx.body = 'my app';
  });
  return app; // app.listen(3000)
}
