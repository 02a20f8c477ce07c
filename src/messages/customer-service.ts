import type { Platform } from '../platform.js';

/**
 * One customer-service text through `/cgi-bin/message/custom/send` with the authorizer's token. Kept
 * alone so it can move onto the typed customer-service client without touching the responder.
 */
export async function sendCustomerServiceText(platform: Platform, authorizerAppid: string, touser: string, content: string): Promise<void> {
  await platform.callAuthorizer(authorizerAppid, {
    method: 'POST',
    path: '/cgi-bin/message/custom/send',
    body: { touser, msgtype: 'text', text: { content } },
  });
}
