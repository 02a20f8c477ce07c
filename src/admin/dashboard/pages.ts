import { fleetMessages } from '../../i18n/fleet.js';
import { ago, inTime, localStamp, messages, permissionName, type Lang, type Messages } from '../../i18n/index.js';
import type { AuthorizerRecord, StoredMessage, StoredPush } from '../../store/types.js';
import { esc, shell } from '../../server/pages/layout.js';
import type { ReconcileReport } from '../reconcile.js';
import { accountName, accountType, avatarSrc } from '../views.js';

const STATUS_CLASS: Record<string, string> = { authorized: 'ok', needs_reauthorization: 'bad', unauthorized: 'muted', missing_upstream: 'warn' };

export function nav(lang: Lang, csrf: string | undefined, sandbox: boolean): string {
  const m = messages(lang);
  const f = fleetMessages(lang);
  return `<nav><span class="brand">${esc(m.brand)}</span><a href="/">${esc(m.dashboard)}</a><a href="/templates">${esc(f.navTemplates)}</a><a href="/deploys">${esc(f.navDeploys)}</a>${sandbox ? `<a href="/sandbox">${esc(m.sandbox)}</a>` : ''}<a href="/docs">${esc(m.apiDocs)}</a>
<a href="/lang?to=zh-CN">中文</a><a href="/lang?to=en">English</a>${csrf ? `<form method="post" action="/logout" style="margin:0"><input type="hidden" name="csrf" value="${esc(csrf)}"><button class="secondary" style="padding:4px 10px;margin:0">${esc(m.logout)}</button></form>` : ''}</nav>`;
}

export function loginPage(lang: Lang, o: { next?: string; failed?: boolean; expired?: boolean } = {}): string {
  const m = messages(lang);
  return shell(
    lang,
    m.loginTitle,
    `<div class="panel"><h1>${esc(m.loginTitle)}</h1>${o.failed ? `<p class="alert" id="login-error">${esc(m.loginFailed)}</p>` : o.expired ? `<p class="alert" id="login-expired">${esc(m.loginExpired)}</p>` : ''}
<form method="post" action="/login"><input type="hidden" name="next" value="${esc(o.next ?? '/')}">
<p><label>${esc(m.loginToken)}<br><input type="password" name="token" autocomplete="current-password" required style="width:100%"></label></p>
<p><button type="submit">${esc(m.loginButton)}</button></p></form></div>`,
    { narrow: true },
  );
}

/** A relative time as the other pages show it, the exact local time on hover and machine-readable. */
function when(m: Messages, ms: number, now: number): string {
  return `<time datetime="${esc(new Date(ms).toISOString())}" title="${esc(localStamp(ms))}">${esc(ago(m, ms, now))}</time>`;
}

/** An appid with no record: the operator followed an old link or mistyped it. */
export function authorizerMissingPage(i: { lang: Lang; nav: string; appid: string }): string {
  const m = messages(i.lang);
  return shell(
    i.lang,
    `${m.authorizerMissingTitle} · wxopen`,
    `<h1>${esc(m.authorizerMissingTitle)}</h1><p class="alert" id="authorizer-missing">${esc(m.authorizerMissing(i.appid))}</p><p class="muted">${esc(m.authorizerMissingHelp)}</p><p><a class="button" href="/">${esc(m.backToList)}</a></p>`,
    { nav: i.nav },
  );
}

export function messagePage(lang: Lang, title: string, text: string, status: 'alert' | 'notice' = 'alert'): string {
  return shell(lang, title, `<div class="panel"><h1>${esc(title)}</h1><p class="${status}">${esc(text)}</p><p><a href="/">${esc(messages(lang).back)}</a></p></div>`, { narrow: true });
}

function perms(m: Messages, lang: Lang, ids: number[]): string {
  return ids.map((id) => `<span class="tag" title="${id}">${esc(permissionName(id, lang))}</span>`).join('') || `<span class="muted">${esc(m.none)}</span>`;
}

export interface OverviewInput {
  lang: Lang;
  nav: string;
  now: number;
  publicUrl: string;
  mode: string;
  componentAppid: string;
  ticket: { status: string; receivedAt: number | null };
  token: { expiresAt: number } | undefined;
  counts: Record<string, number>;
  authorizers: AuthorizerRecord[];
  totalAuthorizers: number;
  filter: { q?: string; type?: string; status?: string; permission?: number };
  pushes: StoredPush[];
  flagged: AuthorizerRecord[];
  missing: AuthorizerRecord[];
  csrf: string;
  lastReconcile: ReconcileReport | undefined;
  notice?: string;
}

function reconcileSummary(r: ReconcileReport): string {
  return `listed ${r.listed} · added ${r.added.length} · restored ${r.restored.length} · marked missing ${r.markedMissing.length} · unchanged ${r.unchanged} (${r.finishedAt})`;
}

export function overviewPage(i: OverviewInput): string {
  const m = messages(i.lang);
  const ticketClass = i.ticket.status === 'fresh' ? 'ok' : i.ticket.status === 'stale' ? 'warn' : 'bad';
  const ticketHelp =
    i.ticket.status === 'missing' || i.ticket.status === 'expired'
      ? `<div class="help">${esc(m.ticketMissingHelp(i.publicUrl))}</div>`
      : i.ticket.status === 'stale'
        ? `<div class="help">${esc(m.ticketStaleHelp(i.publicUrl))}</div>`
        : '';
  const alerts: string[] = [];
  if (i.ticket.status !== 'fresh') alerts.push(`<p class="alert">${esc(m.alertTicket)}</p>`);
  if (i.flagged.length) {
    alerts.push(
      `<p class="alert" id="alert-reauth">${esc(m.alertReauth(i.flagged.length))} ${i.flagged.map((a) => `<a href="/authorizers/${esc(a.authorizerAppid)}">${esc(accountName(a) ?? a.authorizerAppid)}</a>${a.statusReason ? ` <small>(${esc(a.statusReason)})</small>` : ''}`).join(' · ')}</p>`,
    );
  }
  if (i.missing.length) alerts.push(`<p class="alert">${esc(m.alertMissing(i.missing.length))} ${i.missing.map((a) => `<code>${esc(a.authorizerAppid)}</code>`).join(' ')}</p>`);
  const opt = (value: string, label: string, current: string | undefined) => `<option value="${esc(value)}"${current === value ? ' selected' : ''}>${esc(label)}</option>`;
  const permIds = [...new Set(i.authorizers.flatMap((a) => a.funcInfo).concat(i.filter.permission ?? []))].sort((a, b) => a - b);
  const rows = i.authorizers
    .map((a) => {
      const name = accountName(a);
      return `<tr data-appid="${esc(a.authorizerAppid)}"><td><a href="/authorizers/${esc(a.authorizerAppid)}">${esc(name ?? a.authorizerAppid)}</a><br><code>${esc(a.authorizerAppid)}</code> <span class="muted">${esc(accountType(a) === 'miniprogram' ? m.accountKind.miniprogram : accountType(a) === 'official' ? m.accountKind.official : '')}</span></td>
<td class="${STATUS_CLASS[a.status] ?? ''}">${esc(m.status[a.status] ?? a.status)}${a.statusReason ? `<br><small>${esc(a.statusReason)}</small>` : ''}</td><td>${perms(m, i.lang, a.funcInfo)}</td>
<td>${a.status === 'authorized' && a.accessExpiresAt !== null ? esc(inTime(m, a.accessExpiresAt, i.now)) : '–'}</td><td>${esc(ago(m, a.updatedAt, i.now))}</td></tr>`;
    })
    .join('');
  const pushRows = i.pushes
    .map((p) => `<tr><td>${esc(p.infoType)}</td><td>${p.authorizerAppid ? `<a href="/authorizers/${esc(p.authorizerAppid)}"><code>${esc(p.authorizerAppid)}</code></a>` : ''}</td><td>${esc(ago(m, p.receivedAt, i.now))}</td></tr>`)
    .join('');
  const c = i.counts;
  const body = `${i.notice ? `<p class="notice">${esc(i.notice)}</p>` : ''}
<p class="muted"><span id="mode">${esc(m.modeLabel[i.mode === 'sandbox' ? 'sandbox' : 'real'])}</span> · <code>${esc(i.componentAppid)}</code> · <a class="button" href="${esc(i.publicUrl)}/authorize">${esc(m.authorizeLink)}</a></p>
<div class="cards">
<div class="card" id="card-ticket"><div class="label">${esc(m.ticketCard)}</div><div class="${ticketClass}">${esc(i.ticket.receivedAt === null ? m.ticketMissing : m.ticketFresh(ago(m, i.ticket.receivedAt, i.now)))}</div>${ticketHelp}</div>
<div class="card" id="card-token"><div class="label">${esc(m.tokenCard)}</div><div>${i.token ? esc(m.tokenExpires(inTime(m, i.token.expiresAt, i.now))) : `<span class="muted">${esc(m.tokenNone)}</span>`}</div>${i.token ? '' : `<div class="help">${esc(m.tokenNoneHelp)}</div>`}</div>
<div class="card"><div class="label">${esc(m.authorizersCard)}</div><div>${esc(m.countLine(c.authorized ?? 0, c.needs_reauthorization ?? 0, c.unauthorized ?? 0, c.missing_upstream ?? 0))}</div></div>
</div>
<h2>${esc(m.alerts)}</h2>${alerts.join('') || `<p class="muted">${esc(m.noAlerts)}</p>`}
<h2>${esc(m.authorizers)} <small class="muted">(${i.authorizers.length}/${i.totalAuthorizers})</small></h2>
<form class="inline" method="get" action="/"><input name="q" placeholder="${esc(m.search)}" value="${esc(i.filter.q ?? '')}">
<select name="type" aria-label="${esc(m.filterType)}">${opt('', `${m.filterType}: ${m.any}`, i.filter.type ?? '')}${opt('official', m.accountKind.official, i.filter.type)}${opt('miniprogram', m.accountKind.miniprogram, i.filter.type)}</select>
<select name="status" aria-label="${esc(m.filterStatus)}">${opt('', `${m.filterStatus}: ${m.any}`, i.filter.status ?? '')}${Object.entries(m.status).map(([k, v]) => opt(k, v, i.filter.status)).join('')}</select>
<select name="permission" aria-label="${esc(m.filterPermission)}">${opt('', `${m.filterPermission}: ${m.any}`, i.filter.permission === undefined ? '' : undefined)}${permIds.map((id) => opt(String(id), permissionName(id, i.lang), i.filter.permission === undefined ? undefined : String(i.filter.permission))).join('')}</select>
<button type="submit" class="secondary">${esc(m.filter)}</button></form>
${rows ? `<table id="authorizers"><tr><th>${esc(m.colAccount)}</th><th>${esc(m.colStatus)}</th><th>${esc(m.colPermissions)}</th><th>${esc(m.colToken)}</th><th>${esc(m.colUpdated)}</th></tr>${rows}</table>` : `<p class="muted">${esc(m.noAuthorizers)}</p>`}
<h2>${esc(m.reconcile)}</h2><form method="post" action="/reconcile" class="inline"><input type="hidden" name="csrf" value="${esc(i.csrf)}"><button type="submit" class="secondary">${esc(m.reconcileRun)}</button>
${i.lastReconcile ? `<span class="muted" id="last-reconcile">${esc(reconcileSummary(i.lastReconcile))}</span>` : ''}</form>
<h2>${esc(m.events)}</h2>
${pushRows ? `<table><tr><th>InfoType</th><th>${esc(m.colAccount)}</th><th>${esc(m.colUpdated)}</th></tr>${pushRows}</table>` : `<p class="muted">${esc(m.noEvents)}</p>`}`;
  return shell(i.lang, `${m.dashboard} · wxopen`, `<h1>${esc(m.dashboard)}</h1>${body}`, { nav: i.nav, head: '<meta http-equiv="refresh" content="30">' });
}

export function authorizerPage(i: {
  lang: Lang;
  nav: string;
  now: number;
  record: AuthorizerRecord;
  pushes: StoredPush[];
  messages: StoredMessage[];
  csrf: string;
  notice?: string;
  error?: string;
  /** Sandbox mode: the simulator's browser-facing base URL. */
  sandboxBase?: string;
}): string {
  const m = messages(i.lang);
  const r = i.record;
  const info = r.info ?? {};
  const name = accountName(r) ?? r.authorizerAppid;
  const avatar = avatarSrc(info, i.sandboxBase);
  const head = avatar ? `<img class="avatar" src="${esc(avatar)}" alt="" referrerpolicy="no-referrer" onerror="this.style.visibility='hidden'">` : '<div class="avatar"></div>';
  const field = (label: string, value: unknown) => (value === undefined || value === null || value === '' ? '' : `<tr><th>${esc(label)}</th><td>${esc(String(value))}</td></tr>`);
  const events = i.pushes.map((p) => `<tr><td>${esc(p.infoType)}</td><td>${esc(ago(m, p.receivedAt, i.now))}</td></tr>`).join('');
  const received = i.messages.map((x) => `<tr><td>${esc(x.type)}</td><td><code>${esc(x.fromUser)}</code></td><td>${esc(ago(m, x.receivedAt, i.now))}</td></tr>`).join('');
  return shell(
    i.lang,
    `${name} · wxopen`,
    `${i.notice ? `<p class="notice">${esc(i.notice)}</p>` : ''}${i.error ? `<p class="alert">${esc(m.actionFailed)}${esc(i.error)}</p>` : ''}
<div class="account">${head}<div><h1 id="account-name">${esc(name)}</h1><code>${esc(r.authorizerAppid)}</code> <span class="${STATUS_CLASS[r.status] ?? ''}">${esc(m.status[r.status] ?? r.status)}</span>${r.statusReason ? ` <small>(${esc(r.statusReason)})</small>` : ''}</div></div>
<h2>${esc(m.profile)}</h2><table>${field(m.kind, accountType(r) === 'miniprogram' ? m.accountKind.miniprogram : accountType(r) === 'official' ? m.accountKind.official : '')}${field(m.principal, info.principal_name)}${field(m.userName, info.user_name)}${field('alias', info.alias)}<tr><th>${esc(m.authorizedAt)}</th><td id="authorized-at">${when(m, r.authorizedAt, i.now)}</td></tr></table>
<h2>${esc(m.permissions)}</h2><p id="permissions">${perms(m, i.lang, r.funcInfo)}</p>
<h2>${esc(m.tokenExpiry)}</h2><p>${r.accessExpiresAt === null ? esc(m.tokenNone) : esc(inTime(m, r.accessExpiresAt, i.now))}</p>
<form method="post" action="/authorizers/${esc(r.authorizerAppid)}/refresh"><input type="hidden" name="csrf" value="${esc(i.csrf)}"><button type="submit">${esc(m.forceRefresh)}</button></form>
<h2>${esc(m.recentEvents)}</h2>${events ? `<table>${events}</table>` : `<p class="muted">${esc(m.noEvents)}</p>`}
<h2>${esc(m.recentMessages)}</h2>${received ? `<table id="messages">${received}</table>` : `<p class="muted">${esc(m.noMessages)}</p>`}
<p><a href="/">${esc(m.back)}</a></p>`,
    { nav: i.nav },
  );
}

export interface SandboxPageInput {
  lang: Lang;
  nav: string;
  csrf: string;
  clock: { now: number; offsetMs: number } | undefined;
  authorizations: Array<{ appid: string; name: string; revoked: boolean }>;
  faults: unknown[];
  notice?: string;
  error?: string;
}

const FAULT_TYPES = ['system_busy', 'http_error', 'drop', 'latency', 'rate_limit'];
const FAULT_PATHS = [
  '/cgi-bin/component/api_component_token',
  '/cgi-bin/component/api_authorizer_token',
  '/cgi-bin/component/api_create_preauthcode',
  '/cgi-bin/component/api_query_auth',
  '/cgi-bin/component/api_get_authorizer_info',
  '/cgi-bin/component/api_get_authorizer_list',
];

export function sandboxPage(i: SandboxPageInput): string {
  const m = messages(i.lang);
  const csrf = `<input type="hidden" name="csrf" value="${esc(i.csrf)}">`;
  const active = i.authorizations.filter((a) => !a.revoked);
  const appidSelect = (name: string) => `<select name="${name}" required>${active.map((a) => `<option value="${esc(a.appid)}">${esc(a.name)} (${esc(a.appid)})</option>`).join('')}</select>`;
  return shell(
    i.lang,
    `${m.sandbox} · wxopen`,
    `<h1>${esc(m.sandbox)}</h1>${i.notice ? `<p class="notice" id="sandbox-notice">${esc(i.notice)}</p>` : ''}${i.error ? `<p class="alert" id="sandbox-error">${esc(m.actionFailed)}${esc(i.error)}</p>` : ''}
<div class="cards"><div class="card"><div class="label">${esc(m.sandboxClock)}</div><div id="sandbox-clock">${i.clock ? `${esc(new Date(i.clock.now).toISOString())} (+${Math.round(i.clock.offsetMs / 1000)} s)` : '–'}</div></div>
<div class="card"><div class="label">${esc(m.sandboxFaults)}</div><div id="sandbox-faults">${i.faults.length ? i.faults.map((f) => `<code>${esc(JSON.stringify(f))}</code>`).join('<br>') : esc(m.none)}</div></div></div>
<div class="panel"><h2>${esc(m.sandboxMessage)}</h2><form method="post" action="/sandbox/message" class="inline">${csrf}${appidSelect('appid')}<input name="text" placeholder="${esc(m.sandboxMessageText)}" value="你好" required><button type="submit">${esc(m.submit)}</button></form></div>
<div class="panel"><h2>${esc(m.sandboxRevoke)}</h2><form method="post" action="/sandbox/revoke" class="inline">${csrf}${appidSelect('appid')}<button type="submit" class="danger">${esc(m.submit)}</button></form></div>
<div class="panel"><h2>${esc(m.sandboxAdvance)}</h2><form method="post" action="/sandbox/advance" class="inline">${csrf}<input name="seconds" type="number" min="1" max="2592000" value="3600" required> ${esc(m.sandboxSeconds)}<button type="submit">${esc(m.submit)}</button></form></div>
<div class="panel"><h2>${esc(m.sandboxFault)}</h2><form method="post" action="/sandbox/fault" class="inline">${csrf}
<select name="path" aria-label="${esc(m.sandboxFaultPath)}">${FAULT_PATHS.map((p) => `<option>${esc(p)}</option>`).join('')}</select>
<select name="type" aria-label="${esc(m.sandboxFaultType)}">${FAULT_TYPES.map((t) => `<option>${esc(t)}</option>`).join('')}</select>
<input name="times" type="number" min="1" max="1000" value="1" aria-label="${esc(m.sandboxFaultTimes)}"><button type="submit">${esc(m.submit)}</button></form>
<form method="post" action="/sandbox/clear-faults">${csrf}<button type="submit" class="secondary">${esc(m.sandboxClearFaults)}</button></form></div>`,
    { nav: i.nav },
  );
}
