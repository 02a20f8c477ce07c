import express from 'express';
import type { WxOpen } from '../../src/index.js';
import { createExpressMiddleware } from '../../src/adapters/express.js';

export function expressApp(wx: WxOpen) {
  const app = express();
  // Before the body parsers: the signature covers the raw body (after express.raw/text works too).
  app.use(createExpressMiddleware(wx));
  app.use(express.json());
  app.get('/', (_req, res) => {
    res.send('my app');
  });
  return app; // app.listen(3000)
}
