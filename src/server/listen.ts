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
  // A store given here is the server's to close (createWxOpen leaves a store it did not open alone): left open, a
  // SQLite file keeps its WAL after a clean stop, and a copy of the .db file alone then misses recent writes.
  const closeGiven = async (): Promise<void> => {
    await options.store?.close();
  };
  let wx: Awaited<ReturnType<typeof createWxOpen>>;
  try {
    wx = await createWxOpen({ config, logger: options.logger, store: options.store, ensureTicket: options.ensureTicket, refresher: options.refresher });
  } catch (err) {
    await closeGiven().catch(() => {});
    throw err;
  }
  let url: string;
  try {
    url = await wx.listen();
  } catch (err) {
    await wx.close();
    await closeGiven().catch(() => {});
    throw err;
  }
  const close = async (): Promise<void> => {
    await wx.close();
    await closeGiven();
  };
  return { app: wx.app, context: wx.context, messages: wx.messages, push: wx.push, url, store: wx.store, platform: wx.platform, wx, fleet: wx.fleet, close };
}
