import { createWxOpen, reply } from '../../../../src/index.js';

/** One platform per server process, configured from the environment (`WXOPEN_*`). */
export const wx = createWxOpen().then(async (wx) => {
  wx.on('message.text', (m) => reply.text(`you said: ${m.content}`));
  await wx.start(); // ticket, token refresher, retention, fleet runner; the push URLs are served by the route below
  return wx;
});
