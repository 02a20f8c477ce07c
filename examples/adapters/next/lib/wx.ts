import { createWxOpen, reply } from '../../../../src/index.js';

/** One platform per server process, configured from the environment (`WXOPEN_*`). */
export const wx = createWxOpen().then((wx) => {
  wx.on('message.text', (m) => reply.text(`you said: ${m.content}`));
  wx.start(); // ticket, token refresher, retention; the push URLs are served by the route below
  return wx;
});
