import { redactUrl, type Config } from '../../config.js';
import { WeChatApiError, WxOpenError } from '../../errors.js';
import type { Platform } from '../../platform.js';
import { TICKET_STALE_SECONDS, TICKET_TTL_SECONDS } from '../../server/routes/health.js';
import type { Store } from '../../store/types.js';
import { unconfiguredSealKeys, unconfiguredSealKeysProblem } from '../../credentials/seal-keys.js';
import { SecretBoxError } from '../../crypto/secret-box.js';
import { describeCause } from '../failures.js';
import type { CheckResult } from './report.js';

/** What every check may use: the loaded configuration, the operator's clock and a bounded fetch. */
export interface CheckContext {
  config: Config;
  now(): number;
  fetch: typeof fetch;
  timeoutMs: number;
}

const SECOND_MS = 1000;
/** Below this the clock check passes: WeChat's Date header has whole seconds, and the probe takes some. */
const CLOCK_OK_SECONDS = 30;
const WHITELIST_PAGE = 'open.weixin.qq.com → 管理中心 → 第三方平台 → 开发资料 → 白名单IP地址 (API IP whitelist)';

export function errorText(err: unknown): string {
  return err instanceof WxOpenError ? err.detail : describeCause(err);
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / SECOND_MS));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${(s / 3600).toFixed(1)} h ago`;
}

export function configCheck(config: Config): CheckResult {
  const where = `component ${config.componentAppid}, database ${redactUrl(config.databaseUrl)}`;
  if (config.mode === 'sandbox') {
    return { id: 'config', status: 'pass', message: `sandbox mode (demo credentials, the embedded simulator): ${where}`, data: { mode: config.mode } };
  }
  return { id: 'config', status: 'pass', message: `real mode: ${where}, public URL ${config.publicUrl}`, data: { mode: config.mode } };
}

export function schemaCheck(status: { pending: string[]; total: number }): CheckResult {
  if (status.pending.length === 0) return { id: 'schema', status: 'pass', message: `up to date (${status.total} migrations applied)`, data: { pending: [] } };
  return {
    id: 'schema',
    status: 'warn',
    message: `${status.pending.length} of ${status.total} migrations not applied yet: ${status.pending.join(', ')}`,
    fix: 'start this version once (`wxopen serve` applies pending migrations at start, one process at a time)',
    data: { pending: status.pending },
  };
}

export async function secretKeysCheck(store: Store, secretKeys: readonly string[]): Promise<CheckResult> {
  const found = await unconfiguredSealKeys(store, secretKeys, { everywhere: true });
  if (found.length === 0) return { id: 'secret-keys', status: 'pass', message: 'every stored secret names a configured key' };
  return {
    id: 'secret-keys',
    status: 'fail',
    message: `WXOPEN_PREVIOUS_SECRET_KEYS ${unconfiguredSealKeysProblem(found, secretKeys)}`,
    fix: 'add the old WXOPEN_SECRET_KEY to WXOPEN_PREVIOUS_SECRET_KEYS and restart; if it is lost, `wxopen secrets discard-unreadable` then `wxopen authorizers sync`',
    data: { unconfigured: found },
  };
}

export async function writeCheck(store: Store, now: number): Promise<CheckResult> {
  if (await store.probeWrite(now)) return { id: 'database-write', status: 'pass', message: 'a test row was written' };
  return {
    id: 'database-write',
    status: 'fail',
    message: 'reachable but a write failed: pushes, tickets and tokens cannot be stored',
    fix: 'point WXOPEN_DATABASE_URL at the primary (not a read-only replica), check disk space and the database user’s privileges',
  };
}

export async function redisCheck(ctx: CheckContext): Promise<CheckResult> {
  const url = ctx.config.redisUrl;
  if (url === undefined) {
    return { id: 'redis', status: 'skip', message: 'WXOPEN_REDIS_URL not set (locks and the token cache use the database; fine for one instance or PostgreSQL)' };
  }
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: ctx.timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // The connection's own error (ECONNREFUSED…) says more than the rejection ("Connection is closed").
  let first: unknown;
  redis.on('error', (err: unknown) => (first ??= err));
  try {
    await redis.connect();
    const key = `wxopen:doctor:${process.pid}:${ctx.now()}`;
    await redis.set(key, '1', 'PX', 10_000);
    await redis.del(key);
    return { id: 'redis', status: 'pass', message: `${redactUrl(url)} answers and takes writes` };
  } catch (err) {
    return {
      id: 'redis',
      status: 'fail',
      message: `${redactUrl(url)}: ${describeCause(first ?? err)}`,
      fix: 'start Redis or correct WXOPEN_REDIS_URL (rediss:// for TLS); without it, token refreshes are not coordinated across instances',
    };
  } finally {
    redis.disconnect();
  }
}

export async function ticketCheck(ctx: CheckContext, store: Store): Promise<CheckResult> {
  const { config } = ctx;
  const ticket = await store.getTicket(config.componentAppid);
  const last = (await store.listPushes(config.componentAppid, { limit: 1 }))[0];
  const lastPush = last ? `; last authorization event ${last.infoType} ${ago(ctx.now() - last.receivedAt)}` : '';
  const pushUrl = `${config.publicUrl}/wechat/component`;
  if (!ticket) {
    return {
      id: 'ticket',
      status: 'fail',
      message: `no component_verify_ticket received yet${lastPush}`,
      fix: `WeChat pushes one every 10 minutes to the 授权事件接收URL: set it to ${pushUrl} on open.weixin.qq.com and make that URL reachable (see public-url)`,
      data: { ageSeconds: null, lastPushAt: last ? new Date(last.receivedAt).toISOString() : null },
    };
  }
  const ageMs = ctx.now() - ticket.receivedAt;
  const data = { ageSeconds: Math.round(ageMs / SECOND_MS), receivedAt: new Date(ticket.receivedAt).toISOString(), lastPushAt: last ? new Date(last.receivedAt).toISOString() : null };
  const message = `newest ticket received ${ago(ageMs)}${lastPush}`;
  if (ageMs > TICKET_TTL_SECONDS * SECOND_MS) {
    return { id: 'ticket', status: 'fail', message: `${message}: expired (valid 12 h), no new component_access_token can be obtained`, fix: `WeChat stopped reaching ${pushUrl}: check the 授权事件接收URL, DNS, the reverse proxy and the server logs for refused pushes`, data };
  }
  if (ageMs > TICKET_STALE_SECONDS * SECOND_MS) {
    return { id: 'ticket', status: 'warn', message: `${message}: WeChat pushes every 10 minutes, so pushes are not arriving`, fix: `check that WeChat can still reach ${pushUrl} (the ticket stays usable until 12 h old)`, data };
  }
  return { id: 'ticket', status: 'pass', message, data };
}

/** The component token, and what a 61004 on the way says about the egress IP. */
export async function componentTokenCheck(platform: Platform, now: number): Promise<{ result: CheckResult; error?: unknown }> {
  try {
    const info = await platform.component.info();
    return { result: { id: 'component-token', status: 'pass', message: `obtained ${ago(now - info.obtainedAt)}, valid for ${Math.round((info.expiresAt - now) / 60_000)} min more`, data: { expiresAt: new Date(info.expiresAt).toISOString() } } };
  } catch (err) {
    const fix =
      err instanceof SecretBoxError
        ? 'the stored token cannot be opened with the configured keys: see the secret-keys check'
        : err instanceof WeChatApiError && err.errcode === 61004
        ? 'add the egress IP to the whitelist (see egress-ip)'
        : err instanceof WeChatApiError && (err.errcode === 40001 || err.errcode === 40013 || err.errcode === 40125)
          ? 'check WXOPEN_COMPONENT_APPID and WXOPEN_COMPONENT_SECRET against the platform page on open.weixin.qq.com'
          : err instanceof WeChatApiError && (err.errcode === 61005 || err.errcode === 61006)
            ? 'the stored ticket was refused: wait for the next push (10 min) and see the ticket check'
            : err instanceof WeChatApiError
              ? `see WeChat errcode ${err.errcode} (${err.meaning.en})`
              : 'see the ticket and clock checks; is WXOPEN_API_BASE reachable from this server?';
    return { result: { id: 'component-token', status: 'fail', message: errorText(err), fix, data: err instanceof WeChatApiError ? { errcode: err.errcode } : undefined }, error: err };
  }
}

/**
 * WeChat names the caller's address only when it refuses it (61004), so a call that needs the whitelist is
 * made: a refusal shows the IP to add, an answer shows the current IP is already on the list.
 */
export async function egressCheck(platform: Platform, tokenError: unknown): Promise<CheckResult> {
  let err = tokenError;
  let listed: number | undefined;
  if (err === undefined) {
    try {
      const page = await platform.callComponent<{ total_count?: number }>({
        method: 'POST',
        path: '/cgi-bin/component/api_get_authorizer_list',
        body: { component_appid: platform.componentAppid, offset: 0, count: 1 },
      });
      listed = page.total_count;
    } catch (e) {
      err = e;
    }
  }
  if (err instanceof WeChatApiError && (err.errcode === 61004 || err.errcode === 40164)) {
    const ip = err.egressIp ?? 'the address in the error';
    return { id: 'egress-ip', status: 'fail', message: `WeChat refuses calls from ${ip} (errcode ${err.errcode}: not in the IP whitelist)`, fix: `add ${ip} to ${WHITELIST_PAGE}; with several instances or a NAT, add every egress IP`, data: { egressIp: err.egressIp ?? null } };
  }
  if (err !== undefined) {
    return { id: 'egress-ip', status: 'skip', message: `not verified: no call reached WeChat's whitelist check (${errorText(err)})` };
  }
  return { id: 'egress-ip', status: 'pass', message: `WeChat accepts calls from this server (api_get_authorizer_list answered, ${listed ?? '?'} authorizers)`, data: { egressIp: null } };
}

export async function publicUrlCheck(ctx: CheckContext): Promise<CheckResult> {
  const url = `${ctx.config.publicUrl}/healthz`;
  const fix = `WeChat pushes to ${ctx.config.publicUrl}/wechat/…: make WXOPEN_PUBLIC_URL reach this server (is \`wxopen serve\` running? DNS, reverse proxy, firewall, TLS certificate)`;
  try {
    const res = await ctx.fetch(url, { signal: AbortSignal.timeout(ctx.timeoutMs), redirect: 'manual' });
    const body = (await res.json().catch(() => undefined)) as { componentAppid?: unknown; status?: unknown } | undefined;
    if (body?.componentAppid !== ctx.config.componentAppid) {
      return { id: 'public-url', status: 'fail', message: `${url} answered HTTP ${res.status} but not as this platform (${ctx.config.componentAppid})`, fix, data: { status: res.status } };
    }
    return { id: 'public-url', status: 'pass', message: `${url} reaches this platform (health ${String(body.status)})`, data: { status: res.status } };
  } catch (err) {
    const why = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${ctx.timeoutMs} ms` : describeCause(err);
    return { id: 'public-url', status: 'fail', message: `${url} is not reachable from this server: ${why}`, fix };
  }
}

/**
 * Our clock against WeChat's: the Date header of an API answer (no credentials sent), else the CreateTime of
 * the newest ticket against when it arrived. Pushes further off than WXOPEN_PUSH_MAX_SKEW_SECONDS are refused.
 */
export async function clockCheck(ctx: CheckContext, store: Store | undefined): Promise<CheckResult> {
  let skewSeconds: number | undefined;
  let source = '';
  try {
    const sent = ctx.now();
    const res = await ctx.fetch(`${ctx.config.apiBase}/cgi-bin/getcallbackip`, { signal: AbortSignal.timeout(ctx.timeoutMs) });
    const received = ctx.now();
    await res.arrayBuffer();
    const date = Date.parse(res.headers.get('date') ?? '');
    if (Number.isFinite(date)) {
      // The header is truncated to the second: compare against the middle of that second.
      skewSeconds = Math.round((date + 500 - (sent + received) / 2) / SECOND_MS);
      source = `the Date header of ${new URL(ctx.config.apiBase).host}`;
    }
  } catch {
    // fall back to the ticket below
  }
  if (skewSeconds === undefined && store) {
    const ticket = await store.getTicket(ctx.config.componentAppid).catch(() => undefined);
    if (ticket) {
      // CreateTime is whole seconds: compare against the whole second it arrived in.
      skewSeconds = ticket.createTime - Math.floor(ticket.receivedAt / SECOND_MS);
      source = "the newest ticket's CreateTime";
    }
  }
  if (skewSeconds === undefined) return { id: 'clock', status: 'skip', message: `no WeChat timestamp to compare with (${ctx.config.apiBase} did not answer and no ticket is stored)` };
  const off = Math.abs(skewSeconds);
  const direction = skewSeconds > 0 ? 'behind' : 'ahead of';
  // The simulator's clock only moves forward (clock/advance): a sandbox ahead of us is that, not this machine's clock.
  const simulated = ctx.config.mode === 'sandbox' && skewSeconds > 0;
  const message =
    off <= 1
      ? `in step with WeChat (${source})`
      : simulated
        ? `the sandbox's clock is ${off} s ahead of this server's, moved with clock/advance (${source})`
        : `this server's clock is ${off} s ${direction} WeChat's (${source})`;
  const data = { skewSeconds: -skewSeconds, source };
  const max = ctx.config.pushMaxSkewSeconds;
  const fix = simulated
    ? "this machine's clock is fine: the simulator's was advanced; to start the sandbox over, stop the server and delete its state file (*.sandbox.json beside the database)"
    : 'synchronise the clock (chrony or systemd-timesyncd with an NTP server, e.g. ntp.aliyun.com or ntp.tencent.com)';
  if (off >= max) return { id: 'clock', status: 'fail', message: `${message}: pushes more than ${max} s off are refused as stale (WXOPEN_PUSH_MAX_SKEW_SECONDS)`, fix, data };
  if (off > CLOCK_OK_SECONDS) return { id: 'clock', status: 'warn', message: `${message}: pushes are refused beyond ${max} s`, fix, data };
  return { id: 'clock', status: 'pass', message, data };
}

export async function authorizersCheck(ctx: CheckContext, store: Store): Promise<CheckResult> {
  const c = ctx.config.componentAppid;
  const counts = await store.countAuthorizers(c);
  const flagged = [
    ...(await store.listAuthorizers(c, { status: 'needs_reauthorization', limit: 20 })),
    ...(await store.listAuthorizers(c, { status: 'missing_upstream', limit: 20 })),
  ];
  const data = { counts, flagged: flagged.map((a) => ({ appid: a.authorizerAppid, status: a.status, reason: a.statusReason })) };
  const total = counts.needs_reauthorization + counts.missing_upstream;
  if (total === 0) return { id: 'authorizers', status: 'pass', message: `${counts.authorized} authorized, none needs re-authorization`, data };
  const shown = flagged.slice(0, 5).map((a) => `${a.authorizerAppid} (${a.status}${a.statusReason ? `: ${a.statusReason}` : ''})`);
  return {
    id: 'authorizers',
    status: 'warn',
    message: `${total} of ${total + counts.authorized} need attention: ${shown.join(', ')}${total > shown.length ? ', …' : ''}`,
    fix: `send each merchant a new authorization link (${ctx.config.publicUrl}/authorize or the dashboard); \`wxopen authorizers sync\` re-reads WeChat's list`,
    data,
  };
}
