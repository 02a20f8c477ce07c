import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SandboxAccount } from '../accounts.js';
import type { SandboxContext } from '../context.js';
import { esc } from '../../util/html.js';

/** qlogo's path (`/mmopen/<gh_id>/<size>`), served by the sandbox itself so nothing leaves the machine. */
export const AVATAR_PREFIX = '/mmopen/';

/** The sizes qlogo answers (0 is the largest); anything else is not an avatar address there either. */
const SIZES = new Set(['0', '46', '64', '96', '132']);

const PALETTE = ['#07c160', '#10aeff', '#fa9d3b', '#fa5151', '#6467f0', '#1485ee', '#2aae67', '#c87d2f'] as const;

/** Where browsers reach this sandbox: set at listen, or the Host a caller used when it was never started. */
function baseUrl(ctx: SandboxContext, request: FastifyRequest): string {
  return ctx.publicUrl ?? `http://${request.headers.host ?? '127.0.0.1'}`;
}

/** The account's avatar on this sandbox (api_get_authorizer_info `head_img`, getaccountbasicinfo `head_image_url`). */
export function avatarUrl(ctx: SandboxContext, request: FastifyRequest, account: SandboxAccount): string {
  return `${baseUrl(ctx, request)}${AVATAR_PREFIX}${encodeURIComponent(account.userName)}/0`;
}

/** A square with the account's initial, its colour fixed by the gh_ id: tells accounts apart at a glance. */
export function avatarSvg(account: SandboxAccount): string {
  const colour = PALETTE[createHash('sha256').update(account.userName).digest()[0]! % PALETTE.length]!;
  // One code point (a CJK name's first character, or a surrogate pair), escaped: names come from configuration.
  const initial = [...(account.nickName.trim() || account.userName.replace(/^gh_/, ''))][0]?.toUpperCase() ?? '?';
  const text = esc(initial);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="132" height="132" viewBox="0 0 132 132">` +
    `<rect width="132" height="132" fill="${colour}"/>` +
    `<text x="66" y="66" dy=".35em" text-anchor="middle" font-family="-apple-system,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif" font-size="64" fill="#fff">${text}</text></svg>`
  );
}

export async function avatarRoutes(app: FastifyInstance, ctx: SandboxContext): Promise<void> {
  app.get(`${AVATAR_PREFIX}:id/:size`, async (request, reply) => {
    const { id, size } = request.params as { id: string; size: string };
    const account = SIZES.has(size) ? [...ctx.state.accounts.values()].find((a) => a.userName === id) : undefined;
    if (!account) return reply.code(404).type('text/plain; charset=utf-8').send('not found');
    return (
      reply
        .type('image/svg+xml')
        .header('cache-control', 'public, max-age=86400')
        .header('x-content-type-options', 'nosniff')
        // Opened on its own the SVG is a document: no script, nothing fetched.
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
        .send(avatarSvg(account))
    );
  });
}
