import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../../src/api/rate-limit.js';
import type { WxaCodeApi } from '../../../src/api/wxa-code.js';
import { UpstreamError, WeChatApiError } from '../../../src/errors.js';
import { resolveOptions, type DeployOptions, type FleetJob } from '../../../src/fleet/index.js';
import { runStep, type StepDeps } from '../../../src/fleet/steps.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { createStore } from '../../../src/store/create-store.js';
import type { FleetTargetRecord, Store } from '../../../src/store/types.js';
import { createLogger } from '../../../src/util/logger.js';

const C = 'wxcomponent';
const APPID = 'wxmerchant';
const T0 = 1_800_000_000_000;

/** A scripted code-management client: each method answers from a queue, else its default; calls are logged. */
function fakeWxa() {
  const calls: string[] = [];
  const queued: Record<string, Array<() => unknown>> = {};
  const answer = (name: string, fallback: unknown) => async () => {
    calls.push(name);
    const next = queued[name]?.shift();
    return next ? next() : fallback;
  };
  const wxa = {
    commit: answer('commit', { errcode: 0 }),
    getVersionInfo: answer('getVersionInfo', {}),
    submitAudit: answer('submitAudit', { auditid: 77 }),
    getLatestAuditStatus: answer('getLatestAuditStatus', undefined),
    getAuditStatus: answer('getAuditStatus', { status: 2 }),
    release: answer('release', { errcode: 0 }),
    grayRelease: answer('grayRelease', { errcode: 0 }),
    getGrayReleasePlan: answer('getGrayReleasePlan', { gray_release_plan: { status: 0, gray_percentage: 0 } }),
  } as unknown as WxaCodeApi;
  return {
    wxa,
    calls,
    then(name: string, f: () => unknown) {
      (queued[name] ??= []).push(f);
    },
  };
}

const apiError = (errcode: number, path = '/wxa/x') => new WeChatApiError(errcode, `err ${errcode}`, path);

describe('fleet step functions (fake WeChat, in-memory store)', () => {
  let store: Store;
  let now: number;
  let fake: ReturnType<typeof fakeWxa>;
  let paused: Array<{ code: string; errcode?: number }>;
  let quotaLeft: number;
  let transitions: string[];
  let rateWait: number | undefined;

  const deps = (): StepDeps => ({
    componentAppid: C,
    store,
    clock: { now: () => now },
    logger: createLogger({ level: 'silent' }),
    metrics: createMetrics({ defaultMetrics: false }),
    wxa: () => fake.wxa,
    acquire: async (_job, api) => {
      if (rateWait !== undefined) throw new RateLimitedError(api, rateWait);
    },
    takeAuditQuota: async () => quotaLeft-- > 0,
    pauseJob: async (_job, code, _message, errcode) => {
      paused.push({ code, ...(errcode !== undefined && { errcode }) });
    },
    onTransition: (row, from) => transitions.push(`${from}>${row.state}`),
    leaseMs: 1000,
    maxAttempts: 3,
    retryBackoffMs: 100,
  });

  const job = (o: DeployOptions = {}): FleetJob => ({
    id: 'fj_1',
    jobId: 'fj_1',
    componentAppid: C,
    templateId: 5,
    userVersion: '2.0.0',
    userDesc: 'spring',
    options: resolveOptions(o),
    status: 'running',
    pause: null,
    total: 1,
    createdBy: null,
    createdAt: T0,
    updatedAt: T0,
    finishedAt: null,
  });

  async function seed(over: Partial<FleetTargetRecord> = {}, o: DeployOptions = {}): Promise<FleetJob> {
    const j = job(o);
    await store.createFleetJob({ ...j, options: j.options as unknown as Record<string, unknown> }, [
      {
        componentAppid: C,
        jobId: 'fj_1',
        appid: APPID,
        state: 'pending',
        extJson: '{"extAppid":"wxmerchant"}',
        auditid: null,
        reason: null,
        errcode: null,
        errmsg: null,
        errorStep: null,
        intent: null,
        intentAt: null,
        leaseUntil: null,
        nextAt: T0,
        attempts: 0,
        version: 0,
        updatedAt: T0,
        ...over,
      },
    ]);
    return j;
  }
  const row = async () => (await store.getFleetTarget(C, 'fj_1', APPID))!;

  beforeEach(async () => {
    store = await createStore('sqlite::memory:');
    now = T0;
    fake = fakeWxa();
    paused = [];
    quotaLeft = 10;
    transitions = [];
    rateWait = undefined;
  });
  afterEach(async () => store.close());

  it('commits, then submits, then releases once approved', async () => {
    const j = await seed();
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'committed', intent: null, nextAt: T0, attempts: 0, leaseUntil: null });
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'audit_submitted', auditid: 77, nextAt: T0 + 600_000 });
    expect(await runStep(deps(), j, APPID)).toBeUndefined();
    now = T0 + 600_000;
    fake.then('getAuditStatus', () => ({ status: 0 }));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'approved', nextAt: now });
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'released', nextAt: null });
    expect(fake.calls).toEqual(['commit', 'submitAudit', 'getAuditStatus', 'release']);
    expect(transitions).toEqual(['pending>committed', 'committed>audit_submitted', 'audit_submitted>approved', 'approved>released']);
    expect(await runStep(deps(), j, APPID)).toBeUndefined();
  });

  it('records the intent before calling WeChat', async () => {
    const j = await seed();
    let seen: FleetTargetRecord | undefined;
    fake.then('commit', async () => {
      seen = await row();
      return {};
    });
    await runStep(deps(), j, APPID);
    expect(seen).toMatchObject({ intent: 'commit', intentAt: T0, leaseUntil: T0 + 1000, attempts: 1 });
  });

  it('after a crash mid-commit, finds the commit landed (getversioninfo) and does not commit again', async () => {
    const j = await seed({ intent: 'commit', intentAt: T0 - 5000, leaseUntil: T0 - 1, attempts: 1 });
    fake.then('getVersionInfo', () => ({ exp_info: { exp_time: (T0 - 4000) / 1000, exp_version: '2.0.0', exp_desc: 'spring' } }));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'committed', intent: null });
    expect(fake.calls).toEqual(['getVersionInfo']);
  });

  it('after a crash mid-commit that never landed (older trial version), commits', async () => {
    const j = await seed({ intent: 'commit', intentAt: T0 - 5000, leaseUntil: T0 - 1, attempts: 1 });
    fake.then('getVersionInfo', () => ({ exp_info: { exp_time: (T0 - 3_600_000) / 1000, exp_version: '2.0.0', exp_desc: 'spring' } }));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'committed' });
    expect(fake.calls).toEqual(['getVersionInfo', 'commit']);
  });

  it('leaves a row alone while another runner holds its lease, or when it is not due', async () => {
    const j = await seed({ intent: 'commit', intentAt: T0, leaseUntil: T0 + 1 });
    expect(await runStep(deps(), j, APPID)).toBeUndefined();
    now = T0 + 1;
    fake.then('getVersionInfo', () => ({}));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'committed' });
    const later = await store.updateFleetTarget(C, 'fj_1', APPID, (await row()).version, { state: 'pending', nextAt: now + 1 });
    expect(later).toBeDefined();
    expect(await runStep(deps(), j, APPID)).toBeUndefined();
  });

  it('after a crash mid-submit, adopts the audit WeChat already has', async () => {
    const j = await seed({ state: 'committed', intent: 'submit', intentAt: T0 - 1000, attempts: 1 });
    fake.then('getLatestAuditStatus', () => ({ auditid: 91, status: 2, user_version: '2.0.0', submit_audit_time: Math.floor(T0 / 1000) }));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'audit_submitted', auditid: 91 });
    expect(fake.calls).toEqual(['getLatestAuditStatus']);
  });

  it('after a crash mid-submit with no audit at all (85058), submits', async () => {
    const j = await seed({ state: 'committed', intent: 'submit', intentAt: T0 - 1000, attempts: 1 });
    fake.then('getLatestAuditStatus', () => Promise.reject(apiError(85058)));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'audit_submitted', auditid: 77 });
    expect(fake.calls).toEqual(['getLatestAuditStatus', 'submitAudit']);
  });

  it('a previous version’s audit is not ours', async () => {
    const j = await seed({ state: 'committed', intent: 'submit', intentAt: T0 - 1000, attempts: 1 });
    fake.then('getLatestAuditStatus', () => ({ auditid: 5, status: 0, user_version: '1.9.0', submit_audit_time: Math.floor(T0 / 1000) }));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'audit_submitted', auditid: 77 });
  });

  it('fails a merchant with WeChat’s error (85013) and sends nothing more', async () => {
    const j = await seed();
    fake.then('commit', () => Promise.reject(apiError(85013, '/wxa/commit')));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'failed', errcode: 85013, errmsg: 'err 85013', errorStep: 'commit', nextAt: null, intent: null });
    expect(transitions).toEqual(['pending>failed']);
  });

  it('retries -1 with backoff, reconciling first, then fails with it', async () => {
    const j = await seed();
    for (let i = 0; i < 3; i++) fake.then('commit', () => Promise.reject(apiError(-1)));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'pending', intent: 'commit', errcode: -1, nextAt: T0 + 100, attempts: 1 });
    now = T0 + 100;
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'pending', intent: 'commit', nextAt: T0 + 300, attempts: 2 });
    now = T0 + 300;
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'failed', errcode: -1, intent: null });
    expect(fake.calls).toEqual(['commit', 'getVersionInfo', 'commit', 'getVersionInfo', 'commit']);
  });

  it('keeps the intent after a network failure, so the next attempt reconciles', async () => {
    const j = await seed({ state: 'approved' });
    fake.then('release', () => Promise.reject(new UpstreamError('socket hang up')));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'approved', intent: 'release', errcode: -2, errmsg: '[wxopen] socket hang up', errorStep: 'release' });
    now = T0 + 100;
    fake.then('getVersionInfo', () => ({ release_info: { release_time: T0 / 1000, release_version: '2.0.0', release_desc: 'spring' } }));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'released', errcode: null, errmsg: null });
    expect(fake.calls).toEqual(['release', 'getVersionInfo']);
  });

  it('treats 85052 (already released) as released', async () => {
    const j = await seed({ state: 'approved' });
    fake.then('release', () => Promise.reject(apiError(85052)));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'released' });
  });

  it('releases to a percentage with grayrelease', async () => {
    const j = await seed({ state: 'approved' }, { grayPercentage: 20 });
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'released' });
    expect(fake.calls).toEqual(['grayRelease']);
  });

  it('pauses the job when the audit quota is used up, without spending an attempt', async () => {
    const j = await seed({ state: 'committed' });
    quotaLeft = 0;
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'committed', intent: null, attempts: 0, nextAt: T0 });
    expect(paused).toEqual([{ code: 'audit_quota' }]);
    expect(fake.calls).toEqual([]);
  });

  it('pauses the job on 85085 and 45011, keeping the merchant where it was', async () => {
    const j = await seed({ state: 'committed' });
    fake.then('submitAudit', () => Promise.reject(apiError(85085)));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'committed', intent: null, errcode: 85085 });
    fake.then('submitAudit', () => Promise.reject(apiError(45011)));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'committed', errcode: 45011 });
    expect(paused).toEqual([
      { code: 'audit_quota', errcode: 85085 },
      { code: 'rate_limited', errcode: 45011 },
    ]);
  });

  it('waits out the local rate limit without counting an attempt', async () => {
    const j = await seed();
    rateWait = 250;
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'pending', intent: null, attempts: 0, nextAt: T0 + 250 });
    expect(fake.calls).toEqual([]);
  });

  it('moves an audit on from get_auditstatus: rejected with the reason, delayed, withdrawn', async () => {
    const j = await seed({ state: 'audit_submitted', auditid: 9 });
    fake.then('getAuditStatus', () => ({ status: 4, reason: '排队' }));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'delayed', reason: '排队', nextAt: T0 + 600_000 });
    now = T0 + 600_000;
    fake.then('getAuditStatus', () => ({ status: 1, reason: '1:内容不完整' }));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'rejected', reason: '1:内容不完整', nextAt: null });
  });

  it('an auditing row with no audit id goes back to submitting', async () => {
    const j = await seed({ state: 'audit_submitted', auditid: null });
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'committed', nextAt: T0 });
  });

  it('with submitAudit off, a commit is the end', async () => {
    const j = await seed({}, { submitAudit: false });
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'committed', nextAt: null });
  });
});
