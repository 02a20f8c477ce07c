import type { Config } from '../config.js';
import type { Platform } from '../platform.js';
import type { Store } from '../store/types.js';
import type { Logger } from '../util/logger.js';
import type { WxOpenApp } from './app.js';
import { createWxOpen, type WxOpen } from './create.js';

export interface RunningServer extends WxOpenApp {
  url: string;
  store: Store;
  platform: Platform;
  /** The embedding handle: `server.wx.on('message.text', …)`. */
  wx: WxOpen;
  /** Deploy jobs; this server runs their steps. */
  fleet: WxOpen['fleet'];
  close(): Promise<void>;
}

export interface StartServerOptions {
  logger?: Logger;
  /** Ask WeChat for a ticket at start when none younger than 12 h is stored (default true). */
  ensureTicket?: boolean;
  /** Run the background token refresher (default true). */
  refresher?: boolean;
  /** An already opened store (closed with the server); default: opened from `config.databaseUrl`. */
  store?: Store;
}

/** `createWxOpen` + `listen`, for the CLI: opens the store, builds the platform and listens. */
export async function startServer(config: Config, options: StartServerOptions = {}): Promise<RunningServer> {
  const wx = await createWxOpen({ config, logger: options.logger, store: options.store, ensureTicket: options.ensureTicket, refresher: options.refresher });
  let url: string;
  try {
    url = await wx.listen();
  } catch (err) {
    await wx.close();
    throw err;
  }
  return { app: wx.app, context: wx.context, messages: wx.messages, push: wx.push, url, store: wx.store, platform: wx.platform, wx, fleet: wx.fleet, close: () => wx.close() };
}
