import { createWebHandler } from '../../../../../../src/adapters/web.js';
import { wx } from '../../../lib/wx.js';

// app/wechat/[...path]/route.ts: POST /wechat/component and /wechat/authorizer/<appid>
export const POST = createWebHandler(wx);
// The store's drivers and node:crypto need the Node.js runtime, not the Edge runtime.
export const runtime = 'nodejs';
