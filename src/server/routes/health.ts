import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';

/** A ticket older than this can no longer be exchanged for a token (spec 3.9: valid 12 h). */
export const TICKET_TTL_SECONDS = 12 * 3600;
/** WeChat pushes every 10 min; three missed pushes is worth a look. */
export const TICKET_STALE_SECONDS = 30 * 60;

/** How long one write probe's answer is reused: /healthz stays cheap however often it is asked. */
export const STORE_PROBE_CACHE_MS = 5_000;

export async function healthRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  // One probe in flight at a time and its answer cached: a flood of /healthz costs one tiny write per 5 s.
  let probe: { at: number; result: Promise<boolean> } | undefined;
  const writable = (): Promise<boolean> => {
    const now = ctx.clock.now();
    if (!probe || now - probe.at >= STORE_PROBE_CACHE_MS) probe = { at: now, result: ctx.store.probeWrite(ctx.clock.now()).catch(() => false) };
    return probe.result;
  };

  app.get('/healthz', async (_request, reply) => {
    const databaseReachable = await ctx.store.ping();
    const databaseWritable = databaseReachable && (await writable());
    const store = !databaseReachable ? 'unreachable' : databaseWritable ? 'ok' : 'read_only';
    // A store that cannot write loses pushes and tokens: unhealthy, so a load balancer moves traffic.
    if (store !== 'ok') void reply.code(503);
    const ticket = databaseReachable ? await ctx.store.getTicket(ctx.config.componentAppid).catch(() => undefined) : undefined;
    const ageSeconds = ticket ? Math.max(0, Math.round((ctx.clock.now() - ticket.receivedAt) / 1000)) : null;
    // With the database unreachable the ticket cannot be read: 'missing' would send the operator to WeChat's pushes.
    const ticketStatus = !databaseReachable
      ? 'unknown'
      : ageSeconds === null
        ? 'missing'
        : ageSeconds > TICKET_TTL_SECONDS
          ? 'expired'
          : ageSeconds > TICKET_STALE_SECONDS
            ? 'stale'
            : 'fresh';
    return {
      status: store !== 'ok' ? 'error' : ticketStatus === 'fresh' ? 'ok' : 'degraded',
      mode: ctx.config.mode,
      componentAppid: ctx.config.componentAppid,
      store,
      database: { dialect: ctx.store.dialect, reachable: databaseReachable, writable: databaseWritable },
      ...(ctx.platform?.component.holdsUnsaved && { credentials: { componentTokenInMemoryOnly: true } }),
      ticket: {
        status: ticketStatus,
        ageSeconds,
        receivedAt: ticket ? new Date(ticket.receivedAt).toISOString() : null,
        ...(ticketStatus === 'missing' && {
          hint: 'no component_verify_ticket received yet: WeChat must be able to POST to /wechat/component',
        }),
        ...(ticketStatus === 'unknown' && { hint: 'the database is unreachable (see store and database), so the ticket cannot be read' }),
      },
    };
  });

  // /metrics is on the operator listener (src/admin), behind the operator token or a `metrics` key.
}
