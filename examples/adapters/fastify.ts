import Fastify from 'fastify';
import type { WxOpen } from '../../src/index.js';
import { wxopenFastify } from '../../src/adapters/fastify.js';

export async function fastifyApp(wx: WxOpen) {
  const app = Fastify();
  await app.register(wxopenFastify, { wx }); // encapsulated: your JSON parsing is untouched
  app.get('/', async () => 'my app');
  return app; // await app.listen({ port: 3000 })
}
