import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';

/** A ticket older than this can no longer be exchanged for a token (spec 3.9: valid 12 h). */
export const TICKET_TTL_SECONDS = 12 * 3600;
/** WeChat pushes every 10 min; three missed pushes is worth a look. */
export const TICKET_STALE_SECONDS = 30 * 60;

export async function healthRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get('/healthz', async () => {
    const databaseReachable = await ctx.store.ping();
    const ticket = databaseReachable ? await ctx.store.getTicket(ctx.config.componentAppid).catch(() => undefined) : undefined;
    const ageSeconds = ticket ? Math.max(0, Math.round((ctx.clock.now() - ticket.receivedAt) / 1000)) : null;
    const ticketStatus =
      ageSeconds === null ? 'missing' : ageSeconds > TICKET_TTL_SECONDS ? 'expired' : ageSeconds > TICKET_STALE_SECONDS ? 'stale' : 'fresh';
    return {
      status: databaseReachable ? (ticketStatus === 'fresh' ? 'ok' : 'degraded') : 'error',
      mode: ctx.config.mode,
      componentAppid: ctx.config.componentAppid,
      database: { dialect: ctx.store.dialect, reachable: databaseReachable },
      ticket: {
        status: ticketStatus,
        ageSeconds,
        receivedAt: ticket ? new Date(ticket.receivedAt).toISOString() : null,
        ...(ticketStatus === 'missing' && {
          hint: 'no component_verify_ticket received yet: WeChat must be able to POST to /wechat/component',
        }),
      },
    };
  });

  // /metrics is on the operator listener (src/admin), behind the operator token or a `metrics` key.
}
