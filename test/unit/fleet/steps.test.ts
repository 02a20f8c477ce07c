import { Writable } from 'node:stream';
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
import { fleetTargetRecord } from './fixtures.js';

const C = 'wxcomponent';
const APPID = 'wxmerchant';
const T0 = 1_800_000_000_000;

/** A scripted code-management client: each method answers from a queue, else its default; calls are logged. */
function fakeWxa() {
  const calls: string[] = [];
  const args: Record<string, unknown[]> = {};
  const queued: Record<string, Array<() => unknown>> = {};
  const answer = (name: string, fallback: unknown) => async (arg?: unknown) => {
    calls.push(name);
    (args[name] ??= []).push(arg);
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
    args,
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
  let metrics: ReturnType<typeof createMetrics>;
  let acquired: string[];
  let logs: Array<Record<string, unknown>>;

  const deps = (over: Partial<StepDeps> = {}): StepDeps => ({
    componentAppid: C,
    store,
    clock: { now: () => now },
    logger: createLogger({
      level: 'debug',
      destination: new Writable({ write: (c: Buffer, _e, cb) => (logs.push(JSON.parse(c.toString()) as Record<string, unknown>), cb()) }),
    }),
    metrics,
    wxa: () => fake.wxa,
    acquire: async (_job, api) => {
      acquired.push(api);
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
    ...over,
  });
  /** A fleet counter's value for these labels (0 when never incremented). */
  const metric = async (name: 'fleetSteps' | 'fleetTransitions', labels: Record<string, string>) =>
    (await metrics[name].get()).values.find((v) => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val))?.value ?? 0;

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
      fleetTargetRecord(C, 'fj_1', APPID, T0, { extJson: '{"extAppid":"wxmerchant"}', ...over }),
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
    metrics = createMetrics({ defaultMetrics: false });
    acquired = [];
    logs = [];
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

  it('counts each step by outcome and each move by its states, and spends the rate of the API it calls', async () => {
    const j = await seed({}, { pollIntervalMs: 1000, audit: { version_desc: 'v2' } });
    await runStep(deps(), j, APPID);
    await runStep(deps(), j, APPID);
    now = T0 + 1000;
    fake.then('getAuditStatus', () => ({ status: 0 }));
    await runStep(deps(), j, APPID);
    await runStep(deps(), j, APPID);
    expect(acquired).toEqual(['wxa/commit', 'wxa/submit_audit', 'wxa/get_auditstatus', 'wxa/release']);
    for (const step of ['commit', 'submit', 'poll', 'release']) expect(await metric('fleetSteps', { step, outcome: 'ok' })).toBe(1);
    expect(await metric('fleetTransitions', { from: 'pending', to: 'committed' })).toBe(1);
    expect(await metric('fleetTransitions', { from: 'audit_submitted', to: 'approved' })).toBe(1);
    // What each call carried: the job's template, version and description, the merchant's ext_json, the audit body.
    expect(fake.args.commit).toEqual([{ template_id: 5, ext_json: '{"extAppid":"wxmerchant"}', user_version: '2.0.0', user_desc: 'spring' }]);
    expect(fake.args.submitAudit).toEqual([{ version_desc: 'v2' }]);
    expect(fake.args.getAuditStatus).toEqual([77]);
  });

  it('counts a reconciled step as reconciled, a failure as failed (and logs it), a retry as retry, a pause as paused', async () => {
    let j = await seed({ intent: 'commit', intentAt: T0 - 5000, leaseUntil: T0 - 1, attempts: 1 });
    fake.then('getVersionInfo', () => ({ exp_info: { exp_time: (T0 - 4000) / 1000, exp_version: '2.0.0', exp_desc: 'spring' } }));
    await runStep(deps(), j, APPID);
    expect(await metric('fleetSteps', { step: 'commit', outcome: 'reconciled' })).toBe(1);
    expect(await metric('fleetSteps', { step: 'commit', outcome: 'ok' })).toBe(0);

    fake.then('submitAudit', () => Promise.reject(apiError(-1)));
    await runStep(deps(), j, APPID);
    expect(await metric('fleetSteps', { step: 'submit', outcome: 'retry' })).toBe(1);
    expect(await metric('fleetTransitions', { from: 'committed', to: 'committed' })).toBe(0);

    await store.close();
    store = await createStore('sqlite::memory:');
    j = await seed({ state: 'committed' });
    fake.then('submitAudit', () => Promise.reject(apiError(85085, '/wxa/submit_audit')));
    await runStep(deps(), j, APPID);
    expect(await metric('fleetSteps', { step: 'submit', outcome: 'paused' })).toBe(1);
    fake.then('submitAudit', () => Promise.reject(apiError(85007, '/wxa/submit_audit')));
    await runStep(deps(), j, APPID);
    expect(await metric('fleetSteps', { step: 'submit', outcome: 'failed' })).toBe(1);
    expect(logs.filter((l) => l.msg === 'fleet step failed')).toEqual([
      expect.objectContaining({ level: 40, jobId: 'fj_1', appid: APPID, step: 'submit', errcode: 85007, errmsg: 'err 85007' }),
    ]);
  });

  it('a pause hands the attempt back and leaves the merchant due again, with the error that paused it', async () => {
    const j = await seed({ state: 'committed', attempts: 2 });
    fake.then('submitAudit', () => Promise.reject(apiError(45009, '/wxa/submit_audit')));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'committed', intent: null, intentAt: null, attempts: 2, nextAt: T0, errcode: 45009, errmsg: 'err 45009', errorStep: 'submit', leaseUntil: null });
    expect(paused).toEqual([{ code: 'api_quota', errcode: 45009 }]);
  });

  it('a rate-limit wait hands the attempt back and clears the intent', async () => {
    const j = await seed({ attempts: 2 });
    rateWait = 40;
    expect(await runStep(deps(), j, APPID)).toMatchObject({ attempts: 2, intent: null, intentAt: null, nextAt: T0 + 40 });
    expect(await metric('fleetSteps', { step: 'commit', outcome: 'retry' })).toBe(1);
  });

  it('85009 on submit (an audit is running) is retried while attempts last, keeping the intent, then fails', async () => {
    const j = await seed({ state: 'committed' });
    fake.then('submitAudit', () => Promise.reject(apiError(85009)));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'committed', intent: 'submit', errcode: 85009, errorStep: 'submit', nextAt: T0 + 100, attempts: 1 });
    now = T0 + 100;
    fake.then('getLatestAuditStatus', () => Promise.reject(apiError(85058)));
    fake.then('submitAudit', () => Promise.reject(apiError(85009)));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ intent: 'submit', nextAt: T0 + 300, attempts: 2 });
    now = T0 + 300;
    fake.then('getLatestAuditStatus', () => Promise.reject(apiError(85058)));
    fake.then('submitAudit', () => Promise.reject(apiError(85009)));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'failed', errcode: 85009, intent: null, nextAt: null });
    expect(await metric('fleetSteps', { step: 'submit', outcome: 'retry' })).toBe(2);
  });

  it('61039 is transient like -1; a network error fails the merchant once attempts run out', async () => {
    const j = await seed({}, {});
    fake.then('commit', () => Promise.reject(apiError(61039)));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'pending', intent: 'commit', errcode: 61039, nextAt: T0 + 100 });
    now = T0 + 100;
    fake.then('getVersionInfo', () => ({}));
    fake.then('commit', () => Promise.reject(new UpstreamError('ETIMEDOUT')));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'pending', intent: 'commit', errcode: -2, nextAt: T0 + 300, attempts: 2 });
    now = T0 + 300;
    fake.then('getVersionInfo', () => ({}));
    fake.then('commit', () => Promise.reject(new Error('ECONNRESET')));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'failed', errcode: -2, errmsg: 'ECONNRESET', errorStep: 'commit', intent: null, nextAt: null });
    expect(await metric('fleetSteps', { step: 'commit', outcome: 'failed' })).toBe(1);
    expect(await metric('fleetSteps', { step: 'commit', outcome: 'retry' })).toBe(2);
  });

  it('backs off doubling from retryBackoffMs per attempt', async () => {
    const j = await seed();
    const d = deps({ maxAttempts: 5, retryBackoffMs: 1000 });
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      fake.then('getVersionInfo', () => ({}));
      fake.then('commit', () => Promise.reject(apiError(-1)));
      const r = (await runStep(d, j, APPID))!;
      waits.push(r.nextAt! - now);
      now = r.nextAt!;
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000]);
  });

  it('a version WeChat stamped up to 5 minutes before our intent is ours; a second earlier is not', async () => {
    const intentAt = T0 - 5000;
    const slack = 5 * 60_000;
    const j = await seed({ intent: 'commit', intentAt, leaseUntil: T0 - 1, attempts: 1 });
    fake.then('getVersionInfo', () => ({ exp_info: { exp_time: (intentAt - slack) / 1000, exp_version: '2.0.0', exp_desc: 'spring' } }));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'committed' });
    expect(fake.calls).toEqual(['getVersionInfo']);

    await store.close();
    store = await createStore('sqlite::memory:');
    fake.calls.length = 0;
    const k = await seed({ intent: 'commit', intentAt, leaseUntil: T0 - 1, attempts: 1 });
    fake.then('getVersionInfo', () => ({ exp_info: { exp_time: (intentAt - slack - 1000) / 1000, exp_version: '2.0.0', exp_desc: 'spring' } }));
    expect(await runStep(deps(), k, APPID)).toMatchObject({ state: 'committed' });
    expect(fake.calls).toEqual(['getVersionInfo', 'commit']);
  });

  it('a trial version with another description or version is not ours: commit again', async () => {
    for (const exp of [
      { exp_version: '2.0.0', exp_desc: 'autumn' },
      { exp_version: '1.0.0', exp_desc: 'spring' },
    ]) {
      await store.close();
      store = await createStore('sqlite::memory:');
      fake.calls.length = 0;
      const j = await seed({ intent: 'commit', intentAt: T0 - 5000, leaseUntil: T0 - 1, attempts: 1 });
      fake.then('getVersionInfo', () => ({ exp_info: { exp_time: T0 / 1000, ...exp } }));
      await runStep(deps(), j, APPID);
      expect(fake.calls).toEqual(['getVersionInfo', 'commit']);
    }
  });

  it('after a crash mid-release, an online version that is not ours is released again', async () => {
    const j = await seed({ state: 'approved', intent: 'release', intentAt: T0 - 1000, attempts: 1 });
    fake.then('getVersionInfo', () => ({ release_info: { release_time: T0 / 1000, release_version: '1.9.0', release_desc: 'old' } }));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'released' });
    expect(fake.calls).toEqual(['getVersionInfo', 'release']);
    expect(await metric('fleetSteps', { step: 'release', outcome: 'ok' })).toBe(1);
  });

  it('a release error other than 85052 fails the merchant', async () => {
    const j = await seed({ state: 'approved' });
    fake.then('release', () => Promise.reject(apiError(85019)));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'failed', errcode: 85019, errorStep: 'release' });
  });

  it('gray release: a plan already running at our percentage is ours; another percentage, or none, is sent again', async () => {
    const j = await seed({ state: 'approved', intent: 'gray', intentAt: T0 - 1000, attempts: 1 }, { grayPercentage: 20 });
    fake.then('getGrayReleasePlan', () => ({ gray_release_plan: { status: 1, gray_percentage: 20 } }));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'released' });
    expect(fake.calls).toEqual(['getGrayReleasePlan']);
    expect(await metric('fleetSteps', { step: 'gray', outcome: 'reconciled' })).toBe(1);

    for (const plan of [
      { status: 1, gray_percentage: 10 },
      { status: 0, gray_percentage: 20 },
    ]) {
      await store.close();
      store = await createStore('sqlite::memory:');
      fake.calls.length = 0;
      const k = await seed({ state: 'approved', intent: 'gray', intentAt: T0 - 1000, attempts: 1 }, { grayPercentage: 20 });
      fake.then('getGrayReleasePlan', () => ({ gray_release_plan: plan }));
      expect(await runStep(deps(), k, APPID)).toMatchObject({ state: 'released' });
      expect(fake.calls).toEqual(['getGrayReleasePlan', 'grayRelease']);
    }
    expect(fake.args.grayRelease).toEqual([{ gray_percentage: 20 }, { gray_percentage: 20 }]);
    expect(acquired.filter((a) => a === 'wxa/grayrelease')).toHaveLength(2);
  });

  it('after a crash mid-submit, adopts an audit already decided, without a reason when WeChat gave none', async () => {
    const j = await seed({ state: 'committed', intent: 'submit', intentAt: T0 - 1000, attempts: 1 });
    fake.then('getLatestAuditStatus', () => ({ auditid: 92, status: 0, reason: '', user_version: '2.0.0', submit_audit_time: Math.floor(T0 / 1000) }));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'approved', auditid: 92, reason: null });
    expect(await metric('fleetSteps', { step: 'submit', outcome: 'reconciled' })).toBe(1);
  });

  it('an audit with no submission time is not ours; another error reading it is retried', async () => {
    const j = await seed({ state: 'committed', intent: 'submit', intentAt: T0 - 1000, attempts: 1 });
    fake.then('getLatestAuditStatus', () => ({ auditid: 5, status: 2, user_version: '2.0.0' }));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'audit_submitted', auditid: 77 });

    await store.close();
    store = await createStore('sqlite::memory:');
    fake.calls.length = 0;
    const k = await seed({ state: 'committed', intent: 'submit', intentAt: T0 - 1000, attempts: 1 });
    fake.then('getLatestAuditStatus', () => Promise.reject(apiError(-1)));
    expect(await runStep(deps(), k, APPID)).toMatchObject({ state: 'committed', intent: 'submit', errcode: -1 });
    expect(fake.calls).toEqual(['getLatestAuditStatus']);
  });

  it('a poll answer without a reason stores none', async () => {
    const j = await seed({ state: 'audit_submitted', auditid: 9, reason: 'old' });
    fake.then('getAuditStatus', () => ({ status: 2, reason: '' }));
    expect(await runStep(deps(), j, APPID)).toMatchObject({ state: 'audit_submitted', reason: null, nextAt: T0 + 600_000 });
  });

  it('a merchant with nothing left to do is taken off the schedule; an unknown one is ignored', async () => {
    const j = await seed({ state: 'released', nextAt: T0 });
    expect(await runStep(deps(), j, APPID)).toBeUndefined();
    expect(await row()).toMatchObject({ nextAt: null, state: 'released', attempts: 0 });
    expect(await runStep(deps(), j, 'wxunknown')).toBeUndefined();
    expect(fake.calls).toEqual([]);
  });

  it('does nothing when another runner claims the row first', async () => {
    const j = await seed();
    const update = store.updateFleetTarget.bind(store);
    let first = true;
    store.updateFleetTarget = async (c, jobId, appid, version, patch) => {
      if (first) {
        first = false;
        await update(c, jobId, appid, version, { intent: 'commit', intentAt: now, leaseUntil: now + 1000 });
      }
      return update(c, jobId, appid, version, patch);
    };
    expect(await runStep(deps(), j, APPID)).toBeUndefined();
    expect(fake.calls).toEqual([]);
  });

  it('a reconcile keeps the first intent time; a fresh step stamps its own', async () => {
    const j = await seed({ intent: 'commit', intentAt: T0 - 5000, leaseUntil: T0 - 1, attempts: 1 });
    let seen: FleetTargetRecord | undefined;
    fake.then('getVersionInfo', async () => {
      seen = await row();
      return {};
    });
    await runStep(deps(), j, APPID);
    expect(seen).toMatchObject({ intent: 'commit', intentAt: T0 - 5000, attempts: 2, leaseUntil: T0 + 1000 });
  });
});
