import type { Platform } from '../platform.js';
import type { AuthorizerRecord } from '../store/types.js';
import { errorFields } from '../util/log-error.js';

/** api_get_authorizer_list answers at most 500 per page (spec 3.6). */
export const AUTHORIZER_LIST_PAGE = 500;

export interface ReconcileReport {
  startedAt: string;
  finishedAt: string;
  /** How many authorizers WeChat lists, and how many the store had before. */
  listed: number;
  stored: number;
  /** Listed by WeChat, absent from the store: added with the refresh token from the list. */
  added: string[];
  /** Listed by WeChat but stored as revoked or missing: restored to `authorized`. */
  restored: string[];
  /** Stored as active, no longer listed by WeChat: marked `missing_upstream`. */
  markedMissing: string[];
  /** Listed without a refresh token, so nothing could be recovered. */
  skipped: Array<{ authorizerAppid: string; reason: string }>;
  unchanged: number;
}

interface ListPage {
  total_count: number;
  list?: Array<{ authorizer_appid: string; refresh_token?: string; auth_time?: number }>;
}

interface InfoAnswer {
  authorizer_info?: Record<string, unknown>;
  authorization_info?: { func_info?: { funcscope_category?: { id?: number } }[] };
}

/**
 * Fixes drift between the store and WeChat in both directions, from one full listing. The listing is
 * read completely before anything is written, so a failure half-way marks nothing missing.
 */
export async function reconcileAuthorizers(platform: Platform): Promise<ReconcileReport> {
  const { store, clock, box, logger } = platform.ctx;
  const c = platform.componentAppid;
  const startedAt = new Date(clock.now()).toISOString();
  const listed = new Map<string, string | undefined>();
  for (let offset = 0; ; ) {
    const page = await platform.callComponent<ListPage>({
      method: 'POST',
      path: '/cgi-bin/component/api_get_authorizer_list',
      body: { component_appid: c, offset, count: AUTHORIZER_LIST_PAGE },
    });
    const items = page.list ?? [];
    for (const it of items) listed.set(it.authorizer_appid, it.refresh_token || undefined);
    offset += items.length;
    if (items.length === 0 || offset >= page.total_count) break;
  }

  const stored = new Map<string, AuthorizerRecord>();
  for (let after: string | undefined; ; ) {
    const batch = await store.listAuthorizers(c, { after, limit: 500 });
    for (const r of batch) stored.set(r.authorizerAppid, r);
    if (batch.length < 500) break;
    after = batch.at(-1)!.authorizerAppid;
  }

  const report: ReconcileReport = { startedAt, finishedAt: startedAt, listed: listed.size, stored: stored.size, added: [], restored: [], markedMissing: [], skipped: [], unchanged: 0 };
  for (const [appid, refreshToken] of listed) {
    const record = stored.get(appid);
    const active = record && (record.status === 'authorized' || record.status === 'needs_reauthorization');
    if (active) {
      report.unchanged++;
      continue;
    }
    if (!refreshToken) {
      report.skipped.push({ authorizerAppid: appid, reason: 'listed without refresh_token' });
      continue;
    }
    let funcInfo: number[] = [];
    let info: Record<string, unknown> | undefined;
    try {
      const r = await platform.callComponent<InfoAnswer>({
        method: 'POST',
        path: '/cgi-bin/component/api_get_authorizer_info',
        body: { component_appid: c, authorizer_appid: appid },
      });
      funcInfo = (r.authorization_info?.func_info ?? []).map((f) => Number(f.funcscope_category?.id)).filter((n) => Number.isInteger(n));
      info = r.authorizer_info;
    } catch (err) {
      logger.warn({ ...errorFields(err), authorizerAppid: appid }, 'reconcile: api_get_authorizer_info failed; adding without permission sets');
    }
    const at = clock.now();
    await store.saveAuthorization({
      componentAppid: c,
      authorizerAppid: appid,
      funcInfo,
      refreshTokenEnc: box.seal(refreshToken, `${c}:${appid}`),
      accessTokenEnc: null,
      accessExpiresAt: null,
      at,
    });
    if (info) await store.updateAuthorizerInfo(c, appid, info, at);
    platform.authorizers.forget(appid);
    (record ? report.restored : report.added).push(appid);
  }
  for (const [appid, record] of stored) {
    if (listed.has(appid)) continue;
    if (record.status !== 'authorized' && record.status !== 'needs_reauthorization') continue;
    await store.setAuthorizerStatus(c, appid, 'missing_upstream', 'not in api_get_authorizer_list', clock.now());
    platform.authorizers.forget(appid);
    report.markedMissing.push(appid);
  }
  report.finishedAt = new Date(clock.now()).toISOString();
  logger.info(
    { listed: report.listed, added: report.added.length, restored: report.restored.length, markedMissing: report.markedMissing.length, skipped: report.skipped.length },
    'authorizers reconciled with api_get_authorizer_list',
  );
  return report;
}

/** The report for a terminal. */
export function formatReport(r: ReconcileReport): string {
  const lines = [
    `WeChat lists ${r.listed} authorizer(s); the store had ${r.stored}.`,
    `added (recovered from WeChat's list): ${r.added.length ? r.added.join(', ') : 'none'}`,
    `restored to authorized:               ${r.restored.length ? r.restored.join(', ') : 'none'}`,
    `marked missing_upstream:              ${r.markedMissing.length ? r.markedMissing.join(', ') : 'none'}`,
    `unchanged:                            ${r.unchanged}`,
  ];
  for (const s of r.skipped) lines.push(`skipped ${s.authorizerAppid}: ${s.reason}`);
  return lines.join('\n');
}
