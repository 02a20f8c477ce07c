import type { FastifyInstance } from 'fastify';
import {
  codeFor,
  commitCode,
  committedVersion,
  findAudit,
  grayRelease,
  releaseCode,
  revertRelease,
  submitAudit,
  undoAudit,
} from '../code-state.js';
import { chinaMonth } from '../clock.js';
import type { SandboxContext } from '../context.js';
import { reject } from '../errors.js';
import { publishPrivacy } from './wxa-privacy.js';
import { jsonBody, queryParam, requireAuthorizerToken } from '../guards.js';

/** A 1×1 baseline JPEG: get_qrcode answers binary image/jpeg, not JSON (spec 5.2). */
const QRCODE_JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
  'base64',
);
const SPEEDUP_LIMIT = 10;

const seconds = (ms: number) => Math.floor(ms / 1000);

/** Code management on an authorizer's behalf (spec 5.2, 5.5), all with the AAT and permission set 18. */
export async function codeRoutes(app: FastifyInstance, ctx: SandboxContext): Promise<void> {
  const { state } = ctx;

  app.post('/wxa/commit', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    commitCode(state, account.appid, body);
    return { errcode: 0, errmsg: 'ok' };
  });

  app.get('/wxa/get_page', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    return { errcode: 0, errmsg: 'ok', page_list: committedVersion(state, account.appid).pages };
  });

  app.get('/wxa/get_qrcode', async (request, reply) => {
    const { account } = requireAuthorizerToken(ctx, request);
    committedVersion(state, account.appid);
    return reply.type('image/jpeg').send(QRCODE_JPEG);
  });

  app.get('/wxa/get_category', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    return { errcode: 0, errmsg: 'ok', category_list: account.categories ?? [] };
  });

  app.post('/wxa/submit_audit', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    const auditid = submitAudit(state, account.appid, body);
    ctx.scheduler.tick();
    return { errcode: 0, errmsg: 'ok', auditid };
  });

  app.post('/wxa/get_auditstatus', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    const audit = findAudit(state, account.appid, body.auditid);
    return {
      errcode: 0,
      errmsg: 'ok',
      status: audit.status,
      ...(audit.reason !== undefined && { reason: audit.reason }),
      ...(audit.screenshot !== undefined && { screenshot: audit.screenshot }),
      user_version: audit.version.userVersion,
      user_desc: audit.version.userDesc,
      submit_audit_time: seconds(audit.submitAt),
    };
  });

  app.get('/wxa/get_latest_auditstatus', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const audits = codeFor(state, account.appid).audits;
    const audit = audits[audits.length - 1];
    if (!audit) return { errcode: 85058, errmsg: 'no valid audit_id exist' };
    return {
      errcode: 0,
      errmsg: 'ok',
      auditid: audit.auditid,
      status: audit.status,
      reason: audit.reason ?? '',
      ScreenShot: audit.screenshot ?? '',
      user_version: audit.version.userVersion,
      user_desc: audit.version.userDesc,
      submit_audit_time: seconds(audit.submitAt),
    };
  });

  // The trial (last committed) and online versions: how a caller learns whether its commit landed.
  app.post('/wxa/getversioninfo', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    jsonBody(request);
    const code = codeFor(state, account.appid);
    return {
      errcode: 0,
      errmsg: 'ok',
      ...(code.committed && {
        exp_info: { exp_time: seconds(code.committed.committedAt), exp_version: code.committed.userVersion, exp_desc: code.committed.userDesc },
      }),
      ...(code.online && {
        release_info: { release_time: seconds(code.online.releasedAt), release_version: code.online.version.userVersion, release_desc: code.online.version.userDesc },
      }),
    };
  });

  app.get('/wxa/undocodeaudit', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    undoAudit(state, account.appid);
    return { errcode: 0, errmsg: 'ok' };
  });

  app.post('/wxa/release', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    // jsonBody answers 44002 for the empty body clients often send; the body must be `{}`.
    jsonBody(request);
    releaseCode(state, account.appid);
    publishPrivacy(ctx, account.appid);
    return { errcode: 0, errmsg: 'ok' };
  });

  app.get('/wxa/revertcoderelease', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const code = codeFor(state, account.appid);
    if (queryParam(request, 'action') === 'get_history_version') {
      const versions = code.history.filter((r) => r !== code.online).reverse();
      return {
        errcode: 0,
        errmsg: 'ok',
        version_list: versions.map((r) => ({
          app_version: r.appVersion,
          user_version: r.version.userVersion,
          user_desc: r.version.userDesc,
          create_time: seconds(r.releasedAt),
        })),
      };
    }
    revertRelease(state, account.appid, queryParam(request, 'app_version'));
    return { errcode: 0, errmsg: 'ok' };
  });

  app.post('/wxa/grayrelease', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    grayRelease(state, account.appid, body.gray_percentage);
    return { errcode: 0, errmsg: 'ok' };
  });

  app.get('/wxa/revertgrayrelease', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const gray = codeFor(state, account.appid).gray;
    if (gray?.status === 1) gray.status = 4;
    return { errcode: 0, errmsg: 'ok' };
  });

  app.get('/wxa/getgrayreleaseplan', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const gray = codeFor(state, account.appid).gray;
    return {
      errcode: 0,
      errmsg: 'ok',
      gray_release_plan: gray
        ? { status: gray.status, create_timestamp: seconds(gray.createdAt), gray_percentage: gray.percentage }
        : { status: 0, create_timestamp: 0, gray_percentage: 0 },
    };
  });

  app.get('/wxa/queryquota', async (request) => {
    requireAuthorizerToken(ctx, request);
    const limit = state.settings.auditQuotaPerMonth;
    const used = state.auditSubmissions.get(chinaMonth(state.clock.now())) ?? 0;
    const spedUp = state.speedups.get(chinaMonth(state.clock.now())) ?? 0;
    return { errcode: 0, errmsg: 'ok', rest: Math.max(limit - used, 0), limit, speedup_rest: Math.max(SPEEDUP_LIMIT - spedUp, 0), speedup_limit: SPEEDUP_LIMIT };
  });

  // Spec 16.2: an auditing (or delayed) audit finishes sooner; one speed-up per audit, 10 a month.
  app.post('/wxa/speedupaudit', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    const audit = findAudit(state, account.appid, body.auditid);
    if (audit.status !== 2 && audit.status !== 4) reject(89402);
    if (state.spedUpAudits.has(audit.auditid)) reject(89404);
    const month = chinaMonth(state.clock.now());
    const used = state.speedups.get(month) ?? 0;
    if (used >= SPEEDUP_LIMIT) reject(89405);
    state.speedups.set(month, used + 1);
    state.spedUpAudits.add(audit.auditid);
    const now = state.clock.now();
    audit.dueAt = Math.min(audit.dueAt, now + Math.ceil((audit.dueAt - now) / 4));
    ctx.scheduler.tick();
    return { errcode: 0, errmsg: 'ok' };
  });

  app.post('/wxa/change_visitstatus', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    const body = jsonBody(request);
    if (body.action !== 'open' && body.action !== 'close') reject(47001, 'data format error hint: action must be open or close');
    const code = codeFor(state, account.appid);
    if (!code.online) reject(85079);
    code.visitClosed = body.action === 'close';
    return { errcode: 0, errmsg: 'ok' };
  });

  // POST with `{}` (an empty body is 44002); status 0 paused · 1 open (spec 12.2).
  app.post('/wxa/getvisitstatus', async (request) => {
    const { account } = requireAuthorizerToken(ctx, request);
    jsonBody(request);
    return { errcode: 0, errmsg: 'ok', status: codeFor(state, account.appid).visitClosed ? 0 : 1 };
  });
}
