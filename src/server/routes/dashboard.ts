import type { FastifyInstance } from 'fastify';
import type { AuthorizerRecord } from '../../store/types.js';
import type { AppContext } from '../context.js';
import { escapeHtml, page } from '../html.js';
import { TICKET_STALE_SECONDS, TICKET_TTL_SECONDS } from './health.js';

function ago(ms: number, now: number): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${(s / 3600).toFixed(1)} h ago`;
}

function inTime(ms: number | null, now: number): string {
  if (ms === null) return '<span class="muted">none</span>';
  const s = Math.round((ms - now) / 1000);
  if (s <= 0) return '<span class="bad">expired</span>';
  return s < 5400 ? `in ${Math.round(s / 60)} min` : `in ${(s / 3600).toFixed(1)} h`;
}

const STATUS_CLASS: Record<string, string> = { authorized: 'ok', needs_reauthorization: 'bad', unauthorized: 'muted' };

/**
 * The operator's one page: is the ticket arriving, is the component token fresh, which merchants need
 * to authorize again, what came in lately. Server-rendered from the store; refreshes itself.
 */
export async function dashboardRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const { config, store, clock } = ctx;
  app.get('/', async (_req, reply) => {
    const now = clock.now();
    const c = config.componentAppid;
    const [ticket, token, counts, pushes] = await Promise.all([
      store.getTicket(c),
      store.getComponentToken(c),
      store.countAuthorizers(c),
      store.listPushes(c, { limit: 15 }),
    ]);
    const flagged = await store.listAuthorizers(c, { status: 'needs_reauthorization', limit: 200 });
    const authorizers: AuthorizerRecord[] = [];
    for (let after: string | undefined; authorizers.length < 500; ) {
      const batch = await store.listAuthorizers(c, { after, limit: 200 });
      authorizers.push(...batch);
      if (batch.length < 200) break;
      after = batch.at(-1)!.authorizerAppid;
    }
    const ticketAge = ticket ? (now - ticket.receivedAt) / 1000 : null;
    const ticketClass = ticketAge === null || ticketAge > TICKET_TTL_SECONDS ? 'bad' : ticketAge > TICKET_STALE_SECONDS ? 'warn' : 'ok';
    const rows = authorizers
      .map((a) => {
        const name = typeof a.info?.nick_name === 'string' ? escapeHtml(a.info.nick_name) : '';
        return `<tr><td><code>${escapeHtml(a.authorizerAppid)}</code> ${name}</td><td class="${STATUS_CLASS[a.status] ?? ''}">${a.status.replaceAll('_', ' ')}${a.statusReason ? ` <small>(${escapeHtml(a.statusReason)})</small>` : ''}</td><td>${a.funcInfo.join(' ')}</td><td>${a.status === 'authorized' ? inTime(a.accessExpiresAt, now) : '–'}</td><td>${ago(a.updatedAt, now)}</td></tr>`;
      })
      .join('');
    const pushRows = pushes
      .map((p) => `<tr><td>${escapeHtml(p.infoType)}</td><td>${p.authorizerAppid ? `<code>${escapeHtml(p.authorizerAppid)}</code>` : ''}</td><td>${ago(p.receivedAt, now)}</td></tr>`)
      .join('');
    const sandbox = config.mode === 'sandbox' ? ` · <a href="${escapeHtml(config.apiBase)}/sandbox/admin">sandbox admin</a>` : '';
    const body = `
<p class="muted">${config.mode === 'sandbox' ? 'Sandbox mode' : 'Live'} · component <code>${escapeHtml(c)}</code> · <a class="button" href="/authorize">Authorize a merchant</a> <a href="/healthz">health</a> · <a href="/metrics">metrics</a>${sandbox}</p>
${flagged.length ? `<p class="alert">${flagged.length} merchant(s) must authorize the platform again: ${flagged.map((a) => `<code>${escapeHtml(a.authorizerAppid)}</code>`).join(' ')}</p>` : ''}
<div class="cards">
<div class="card"><div class="label">component_verify_ticket</div><div class="${ticketClass}">${ticket ? `received ${ago(ticket.receivedAt, now)}` : 'never received'}</div></div>
<div class="card"><div class="label">component_access_token</div><div>${token ? `expires ${inTime(token.expiresAt, now)}` : '<span class="muted">not fetched yet</span>'}</div></div>
<div class="card"><div class="label">authorizers</div><div><span class="ok">${counts.authorized} authorized</span> · <span class="${counts.needs_reauthorization ? 'bad' : 'muted'}">${counts.needs_reauthorization} need re-authorization</span> · <span class="muted">${counts.unauthorized} revoked</span></div></div>
</div>
<h2>Authorizers</h2>
${rows ? `<table><tr><th>appid</th><th>status</th><th>permission sets</th><th>access token</th><th>updated</th></tr>${rows}</table>` : '<p class="muted">No merchant has authorized the platform yet.</p>'}
<h2>Recent authorization events</h2>
${pushRows ? `<table><tr><th>type</th><th>authorizer</th><th>received</th></tr>${pushRows}</table>` : '<p class="muted">None yet.</p>'}`;
    return reply
      .type('text/html')
      .header('refresh', '15')
      .send(page('wxopen', body));
  });
}
