import { describe, expect, it, vi } from 'vitest';
import { WeChatApiError, UpstreamError } from '../../../src/errors.js';
import { FleetNotFoundError, FleetStateError, FleetTemplateCheckError, FleetValidationError } from '../../../src/fleet/errors.js';
import { apiError, auditEvent as audit, C, deploy, fleetWorlds, T0, until, type FleetWorld } from './fleet-world.js';

const world = fleetWorlds();

describe('Fleet: jobs, validated before anything is stored', () => {
  it('lists every problem of an invalid deploy and stores nothing', async () => {
    const w = await world();
    const err = await w.fleet.createJob(deploy({ templateId: -1, userVersion: '', targets: { appids: ['wxa1', 'wxnope'] } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FleetValidationError);
    expect((err as FleetValidationError).issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'templateId' }),
        expect.objectContaining({ field: 'userVersion' }),
        { appid: 'wxnope', field: 'targets', problem: 'not an authorizer of this platform' },
      ]),
    );
    expect(await w.fleet.listJobs()).toEqual([]);
    expect(w.logged('deploy job created')).toEqual([]);
  });

  it('refuses a template id the template library does not hold, and sends nothing', async () => {
    const w = await world();
    const err = await w.fleet.createJob(deploy({ templateId: 99 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FleetValidationError);
    expect((err as FleetValidationError).issues).toEqual([{ field: 'templateId', problem: 'template 99 is not in the template library (wxopen templates list)' }]);
    expect(await w.fleet.listJobs()).toEqual([]);
    expect(w.wechat.calls).toEqual([]);
  });

  it('creates no job when the template library cannot be read; retryable unless WeChat refused', async () => {
    const down = await world({ templateIds: () => Promise.reject(new UpstreamError('/wxa/gettemplatelist: ECONNREFUSED on http://127.0.0.1:9')) });
    const err = await down.fleet.createJob(deploy()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FleetTemplateCheckError);
    expect(err).toMatchObject({ code: 'WXO_ERR_FLEET_TEMPLATE_CHECK', statusCode: 502, retryable: true, templateId: 5, errcode: undefined });
    expect((err as Error).message).toBe(
      '[wxopen] cannot check template 5 against the template library (/wxa/gettemplatelist: ECONNREFUSED on http://127.0.0.1:9); no deploy job was created, try again',
    );
    expect(await down.fleet.listJobs()).toEqual([]);
    expect(down.wechat.calls).toEqual([]);

    const refused = await world({ templateIds: () => Promise.reject(new WeChatApiError(61007, 'api is unauthorized', '/wxa/gettemplatelist')) });
    const denied = await refused.fleet.createJob(deploy()).catch((e: unknown) => e);
    expect(denied).toMatchObject({ code: 'WXO_ERR_FLEET_TEMPLATE_CHECK', retryable: false, errcode: 61007 });
    expect((denied as Error).message).toMatch(/^\[wxopen\] cannot check template 5 against the template library \(\/wxa\/gettemplatelist failed with errcode 61007: .*\); no deploy job was created$/);
    expect(await refused.fleet.listJobs()).toEqual([]);
  });

  it('stores the job and each merchant pending and due now, with the ext_json given, stored or defaulted', async () => {
    const w = await world();
    await w.fleet.setExtJson('wxa2', { shop: 2 });
    const job = await w.fleet.createJob(
      deploy({ userDesc: 'spring', createdBy: 'ops@example', extJson: { byAppid: { wxa1: { shop: 1 } }, default: { shop: 0 } }, options: { concurrency: 3 } }),
    );
    expect(job.jobId).toMatch(/^fj_[0-9a-f]{16}$/);
    expect(job).toMatchObject({
      id: job.jobId,
      componentAppid: C,
      templateId: 5,
      userVersion: '1.0.0',
      userDesc: 'spring',
      status: 'running',
      pause: null,
      total: 3,
      createdBy: 'ops@example',
      createdAt: T0,
      updatedAt: T0,
      finishedAt: null,
    });
    expect(job.options).toMatchObject({ concurrency: 3, submitAudit: true, release: true });
    expect(await w.fleet.getJob(job.jobId)).toEqual(job);

    const targets = await w.fleet.listTargets(job.jobId);
    expect(targets.map((t) => [t.appid, t.state, t.extJson, t.attempts, t.intent, t.error])).toEqual([
      ['wxa1', 'pending', '{"shop":1}', 0, null, null],
      ['wxa2', 'pending', '{"shop":2}', 0, null, null],
      ['wxa3', 'pending', '{"shop":0}', 0, null, null],
    ]);
    expect(await w.row(job.jobId, 'wxa3')).toMatchObject({ nextAt: T0, version: 0, leaseUntil: null, updatedAt: T0, auditid: null });
    expect(w.logged('deploy job created')).toEqual([
      expect.objectContaining({ level: 30, jobId: job.jobId, targets: 3, templateId: 5, userVersion: '1.0.0' }),
    ]);

    const second = await w.fleet.createJob(deploy({ targets: { appids: ['wxa3'] } }));
    expect(second).toMatchObject({ userDesc: '', createdBy: null, total: 1 });
    expect(second.jobId).not.toBe(job.jobId);
    // Not started: nothing reached WeChat.
    await new Promise((r) => setTimeout(r, 30));
    expect(w.wechat.calls).toEqual([]);
  });

  it('answers FleetNotFoundError for a job it does not have, whatever the action', async () => {
    const w = await world();
    const actions: Array<() => Promise<unknown>> = [
      () => w.fleet.getJob('fj_missing'),
      () => w.fleet.listTargets('fj_missing'),
      () => w.fleet.report('fj_missing'),
      () => w.fleet.progress('fj_missing'),
      () => w.fleet.pause('fj_missing'),
      () => w.fleet.resume('fj_missing'),
      () => w.fleet.cancel('fj_missing'),
      () => w.fleet.retry('fj_missing'),
      () => w.fleet.withdraw('fj_missing'),
      () => w.fleet.rollback('fj_missing'),
    ];
    for (const act of actions) {
      const err = await act().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FleetNotFoundError);
      expect(err).toMatchObject({ code: 'WXO_ERR_FLEET_NOT_FOUND', jobId: 'fj_missing', statusCode: 404 });
    }
  });

  it('lists jobs by status and limit, and targets by state, limit and offset', async () => {
    const w = await world();
    const a = await w.fleet.createJob(deploy());
    w.clock.advance(1);
    const b = await w.fleet.createJob(deploy({ targets: { appids: ['wxa1'] } }));
    await w.fleet.cancel(a.jobId);
    expect((await w.fleet.listJobs()).map((j) => j.jobId).sort()).toEqual([a.jobId, b.jobId].sort());
    expect((await w.fleet.listJobs({ status: 'cancelled' })).map((j) => j.jobId)).toEqual([a.jobId]);
    expect((await w.fleet.listJobs({ status: 'running' })).map((j) => j.jobId)).toEqual([b.jobId]);
    expect(await w.fleet.listJobs({ limit: 1 })).toHaveLength(1);

    await w.setTarget(a.jobId, 'wxa2', { state: 'failed', errcode: 85013, errmsg: 'bad', errorStep: 'commit' });
    const appids = async (o: Parameters<FleetWorld['fleet']['listTargets']>[1]) => (await w.fleet.listTargets(a.jobId, o)).map((t) => t.appid);
    expect(await appids({ state: 'failed' })).toEqual(['wxa2']);
    expect(await appids({ state: ['pending', 'failed'] })).toEqual(['wxa1', 'wxa2', 'wxa3']);
    expect(await appids({ state: 'released' })).toEqual([]);
    expect(await appids({ limit: 2 })).toEqual(['wxa1', 'wxa2']);
    expect(await appids({ limit: 1, offset: 2 })).toEqual(['wxa3']);
    expect(await w.fleet.report(a.jobId)).toEqual(await w.fleet.listTargets(a.jobId));
    expect((await w.fleet.listTargets(a.jobId, { state: 'failed' }))[0]!.error).toEqual({ errcode: 85013, errmsg: 'bad', step: 'commit' });
  });

  it('reports progress: every state counted, the failures with their errors', async () => {
    const w = await world();
    const job = await w.fleet.createJob(deploy());
    await w.setTarget(job.jobId, 'wxa1', { state: 'failed', errcode: 85013, errmsg: 'invalid ext_json', errorStep: 'commit' });
    await w.setTarget(job.jobId, 'wxa2', { state: 'rejected', reason: 'icon' });
    w.clock.advance(2_000);
    const p = await w.fleet.progress(job.jobId);
    expect(p.counts).toMatchObject({ failed: 1, rejected: 1, pending: 1, released: 0 });
    expect(p.settled).toBe(2);
    expect(p.ratePerSecond).toBe(1);
    expect(p.failures).toEqual([
      { appid: 'wxa1', state: 'failed', errcode: 85013, reason: '85013 invalid ext_json' },
      { appid: 'wxa2', state: 'rejected', errcode: null, reason: 'icon' },
    ]);
  });
});

describe('Fleet: operator actions', () => {
  it('pause, resume and cancel follow the status; the wrong status is a FleetStateError that says why', async () => {
    const w = await world();
    const job = await w.fleet.createJob(deploy());
    await w.fleet.pause(job.jobId);
    expect(await w.fleet.getJob(job.jobId)).toMatchObject({ status: 'paused', pause: { code: 'manual', message: 'paused by an operator', at: T0 } });
    expect((await w.fleet.getJob(job.jobId)).pause).not.toHaveProperty('errcode');
    expect(w.events.filter((e) => e.name === 'paused').map((e) => e.args[0])).toEqual([{ jobId: job.jobId, code: 'manual', message: 'paused by an operator' }]);
    expect(w.events.filter((e) => e.name === 'progress').map((e) => e.args[0])).toEqual([{ jobId: job.jobId }]);
    expect(await w.metric('fleetPauses', { code: 'manual' })).toBe(1);
    expect(w.logged('deploy job paused')).toEqual([expect.objectContaining({ level: 40, jobId: job.jobId, code: 'manual' })]);

    const again = await w.fleet.pause(job.jobId).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(FleetStateError);
    expect(again).toMatchObject({ code: 'WXO_ERR_FLEET_STATE', statusCode: 409 });
    expect((again as Error).message).toContain(`cannot pause job ${job.jobId}: it is paused`);
    expect(await w.metric('fleetPauses', { code: 'manual' })).toBe(1);

    w.clock.advance(5);
    await w.fleet.resume(job.jobId);
    expect(await w.fleet.getJob(job.jobId)).toMatchObject({ status: 'running', pause: null, updatedAt: T0 + 5, finishedAt: null });
    await w.fleet.resume(job.jobId); // resuming a running job is harmless

    w.clock.advance(5);
    await w.fleet.cancel(job.jobId);
    expect(await w.fleet.getJob(job.jobId)).toMatchObject({ status: 'cancelled', finishedAt: T0 + 10, updatedAt: T0 + 10 });
    await expect(w.fleet.cancel(job.jobId)).rejects.toThrow(`cannot cancel job ${job.jobId}: it is cancelled`);
    await expect(w.fleet.resume(job.jobId)).rejects.toThrow(`cannot resume job ${job.jobId}: it is cancelled`);
    await expect(w.fleet.pause(job.jobId)).rejects.toThrow(`cannot pause job ${job.jobId}: it is cancelled`);
    const retry = await w.fleet.retry(job.jobId).catch((e: unknown) => e);
    expect(retry).toBeInstanceOf(FleetStateError);
    expect((retry as Error).message).toMatch(new RegExp(`job ${job.jobId} is cancelled$`));
  });

  it('retry sends each failed merchant back to the step that failed, rejected and withdrawn ones to a new commit', async () => {
    const appids = ['wx1', 'wx2', 'wx3', 'wx4', 'wx5', 'wx6', 'wx7', 'wx8', 'wx9'];
    const w = await world({}, appids);
    const job = await w.fleet.createJob(deploy());
    const failed = (errorStep: string | null, auditid: number | null = null) => ({ state: 'failed', errcode: 85013, errmsg: 'x', errorStep, auditid, attempts: 3, reason: 'r' });
    await w.setTarget(job.jobId, 'wx1', failed('commit'));
    await w.setTarget(job.jobId, 'wx2', failed('submit'));
    await w.setTarget(job.jobId, 'wx3', failed('release', 9));
    await w.setTarget(job.jobId, 'wx4', failed('gray', 10));
    await w.setTarget(job.jobId, 'wx5', failed('poll', 8));
    await w.setTarget(job.jobId, 'wx6', { state: 'rejected', auditid: 7, reason: 'icon' });
    await w.setTarget(job.jobId, 'wx7', { state: 'withdrawn', auditid: 6 });
    await w.setTarget(job.jobId, 'wx8', { state: 'released', auditid: 5 });
    await w.setTarget(job.jobId, 'wx9', failed(null));
    await w.store.updateFleetJob(C, job.jobId, { status: 'done', finishedAt: T0, updatedAt: T0 }, ['running']);
    w.clock.advance(1_000);
    const now = T0 + 1_000;

    expect(await w.fleet.retry(job.jobId, { appids: ['wx1', 'wx8', 'wxnone'] })).toEqual({ retried: ['wx1'] });
    expect(await w.fleet.getJob(job.jobId)).toMatchObject({ status: 'running', finishedAt: null, pause: null, updatedAt: now });
    expect(await w.row(job.jobId, 'wx2')).toMatchObject({ state: 'failed' });

    w.events.length = 0;
    expect((await w.fleet.retry(job.jobId)).retried.sort()).toEqual(['wx2', 'wx3', 'wx4', 'wx5', 'wx6', 'wx7', 'wx9']);
    const expected: Record<string, [string, number | null]> = {
      wx1: ['pending', null],
      wx2: ['committed', null],
      wx3: ['approved', 9],
      wx4: ['approved', 10],
      wx5: ['audit_submitted', 8],
      wx6: ['pending', null],
      wx7: ['pending', null],
      wx8: ['released', 5],
      wx9: ['pending', null],
    };
    for (const [appid, [state, auditid]] of Object.entries(expected)) {
      const r = await w.row(job.jobId, appid);
      expect([appid, r.state, r.auditid]).toEqual([appid, state, auditid]);
      if (appid !== 'wx8') expect(r).toMatchObject({ nextAt: now, reason: null, errcode: null, errmsg: null, errorStep: null, attempts: 0, intent: null, updatedAt: now });
    }
    // Every merchant moved is a `target` event from where it was; progress is throttled to one per 250 ms.
    const targetEvents = w.events.filter((e) => e.name === 'target');
    expect(targetEvents.map((e) => [(e.args[0] as { appid: string }).appid, e.args[1]]).sort()).toEqual([
      ['wx2', 'failed'],
      ['wx3', 'failed'],
      ['wx4', 'failed'],
      ['wx5', 'failed'],
      ['wx6', 'rejected'],
      ['wx7', 'withdrawn'],
      ['wx9', 'failed'],
    ]);
  });

  it('retry with nothing to retry leaves a finished job finished', async () => {
    const w = await world();
    const job = await w.fleet.createJob(deploy());
    await w.store.updateFleetJob(C, job.jobId, { status: 'done', finishedAt: T0, updatedAt: T0 }, ['running']);
    w.clock.advance(10);
    expect(await w.fleet.retry(job.jobId)).toEqual({ retried: [] });
    expect(await w.fleet.getJob(job.jobId)).toMatchObject({ status: 'done', finishedAt: T0, updatedAt: T0 });
  });

  it('progress events are one per 250 ms per job, target events one per merchant', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
    const w = await world();
    const job = await w.fleet.createJob(deploy());
    for (const appid of ['wxa1', 'wxa2', 'wxa3']) await w.setTarget(job.jobId, appid, { state: 'failed', errorStep: 'commit', errcode: 1, errmsg: 'x' });
    await w.fleet.retry(job.jobId, { appids: ['wxa1'] });
    vi.setSystemTime(T0 + 249);
    await w.fleet.retry(job.jobId, { appids: ['wxa2'] });
    expect(w.events.filter((e) => e.name === 'progress')).toHaveLength(1);
    vi.setSystemTime(T0 + 250);
    await w.fleet.retry(job.jobId, { appids: ['wxa3'] });
    expect(w.events.filter((e) => e.name === 'progress').map((e) => e.args[0])).toEqual([{ jobId: job.jobId }, { jobId: job.jobId }]);
    expect(w.events.filter((e) => e.name === 'target')).toHaveLength(3);
  });

  it('withdraw undoes the audits in progress; a merchant WeChat refuses is reported and keeps its state', async () => {
    const w = await world({}, ['wxa1', 'wxa2', 'wxa3', 'wxa4']);
    const job = await w.fleet.createJob(deploy());
    await w.setTarget(job.jobId, 'wxa1', { state: 'audit_submitted', auditid: 1, nextAt: T0 + 600_000 });
    await w.setTarget(job.jobId, 'wxa2', { state: 'delayed', auditid: 2, nextAt: T0 + 600_000 });
    await w.setTarget(job.jobId, 'wxa3', { state: 'released' });
    w.wechat.then('undoCodeAudit', () => Promise.reject(apiError(87013, '/wxa/undocodeaudit')), 'wxa2');
    let during: unknown;
    w.wechat.then('undoCodeAudit', async () => ((during = await w.row(job.jobId, 'wxa1')), { errcode: 0 }), 'wxa1');
    w.clock.advance(7);

    expect(await w.fleet.withdraw(job.jobId)).toEqual({ done: ['wxa1'], skipped: [], failed: [{ appid: 'wxa2', errcode: 87013, errmsg: 'err 87013' }] });
    expect(w.wechat.calls).toEqual(['wxa1:undoCodeAudit', 'wxa2:undoCodeAudit']);
    // Claimed before WeChat was asked: the intent and a lease of leaseMs (60 s by default) mark it for other runners.
    expect(during).toMatchObject({ intent: 'withdraw', intentAt: T0 + 7, leaseUntil: T0 + 7 + 60_000 });
    expect(await w.row(job.jobId, 'wxa1')).toMatchObject({ state: 'withdrawn', intent: null, intentAt: null, leaseUntil: null, nextAt: null, updatedAt: T0 + 7 });
    expect(await w.row(job.jobId, 'wxa2')).toMatchObject({
      state: 'delayed',
      errcode: 87013,
      errmsg: 'err 87013',
      errorStep: 'withdraw',
      intent: null,
      intentAt: null,
      leaseUntil: null,
      nextAt: T0 + 600_000,
    });
    expect(await w.metric('fleetSteps', { step: 'withdraw', outcome: 'ok' })).toBe(1);
    expect(await w.metric('fleetSteps', { step: 'withdraw', outcome: 'failed' })).toBe(1);
    expect(w.events.filter((e) => e.name === 'target').map((e) => [(e.args[0] as { appid: string; state: string }).state, e.args[1]])).toEqual([['withdrawn', 'audit_submitted']]);

    // Named merchants that are not auditing are skipped, and said so.
    expect(await w.fleet.withdraw(job.jobId, { appids: ['wxa3', 'wxa4'] })).toEqual({ done: [], skipped: ['wxa3', 'wxa4'], failed: [] });
    expect(w.wechat.calls).toHaveLength(2);
  });

  it('rollback reverts released merchants only; a network error is reported as -2', async () => {
    const w = await world();
    const job = await w.fleet.createJob(deploy());
    await w.setTarget(job.jobId, 'wxa1', { state: 'released' });
    await w.setTarget(job.jobId, 'wxa2', { state: 'released' });
    w.wechat.then('revertCodeRelease', () => Promise.reject(new Error('socket hang up')), 'wxa2');
    expect(await w.fleet.rollback(job.jobId, { appids: ['wxa1', 'wxa2', 'wxa3'] })).toEqual({
      done: ['wxa1'],
      skipped: ['wxa3'],
      failed: [{ appid: 'wxa2', errcode: -2, errmsg: 'socket hang up' }],
    });
    expect(w.wechat.calls).toEqual(['wxa1:revertCodeRelease', 'wxa2:revertCodeRelease']);
    expect(await w.row(job.jobId, 'wxa1')).toMatchObject({ state: 'reverted', intent: null });
    expect(await w.row(job.jobId, 'wxa2')).toMatchObject({ state: 'released', errcode: -2, errmsg: 'socket hang up', errorStep: 'rollback' });
    expect(await w.metric('fleetSteps', { step: 'rollback', outcome: 'failed' })).toBe(1);
  });
});

describe('Fleet: ext_json per merchant', () => {
  it('validates, stores, lists and deletes', async () => {
    const w = await world();
    const bad = await w.fleet.setExtJson('wxa1', '{not json').catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(FleetValidationError);
    expect((bad as FleetValidationError).issues).toEqual([expect.objectContaining({ appid: 'wxa1', field: 'extJson' })]);
    expect(await w.fleet.getExtJson('wxa1')).toBeUndefined();

    w.clock.advance(3);
    await w.fleet.setExtJson('wxa1', { extAppid: 'wxa1' });
    expect(await w.fleet.getExtJson('wxa1')).toBe('{"extAppid":"wxa1"}');
    expect(await w.fleet.listExtJson()).toEqual([{ appid: 'wxa1', extJson: '{"extAppid":"wxa1"}', updatedAt: T0 + 3 }]);
    expect(await w.fleet.deleteExtJson('wxa1')).toBe(true);
    expect(await w.fleet.deleteExtJson('wxa1')).toBe(false);
    expect(await w.fleet.listExtJson()).toEqual([]);
  });
});

describe('Fleet: the runner', () => {
  it('runs a job to the end (commit, submit, poll, release), then marks it done, says so and logs the counts', async () => {
    const w = await world();
    expect(w.fleet.runnerKind).toBeUndefined();
    const job = await w.fleet.createJob(deploy({ options: { pollIntervalMs: 1_000 } }));
    await w.fleet.start();
    await w.fleet.start();
    expect(w.fleet.runnerKind).toBe('embedded');
    await until(async () => (await w.fleet.listTargets(job.jobId, { state: 'audit_submitted' })).length === 3, 'three submissions');
    expect(w.wechat.count('queryQuota')).toBe(1);
    expect(w.wechat.count('getAuditStatus')).toBe(0);

    w.clock.advance(1_000);
    w.fleet.kick();
    const done = await w.fleet.idle(job.jobId, 5);
    expect(done).toMatchObject({ status: 'done', finishedAt: T0 + 1_000 });
    for (const appid of ['wxa1', 'wxa2', 'wxa3']) {
      expect(w.wechat.calls.filter((c) => c.startsWith(`${appid}:`) && !c.endsWith('queryQuota'))).toEqual([
        `${appid}:commit`,
        `${appid}:submitAudit`,
        `${appid}:getAuditStatus`,
        `${appid}:release`,
      ]);
    }
    expect(w.events.filter((e) => e.name === 'done').map((e) => e.args[0])).toEqual([{ jobId: job.jobId }]);
    // The last word on a job: its progress, then done.
    expect(w.events.slice(-2).map((e) => [e.name, e.args[0]])).toEqual([
      ['progress', { jobId: job.jobId }],
      ['done', { jobId: job.jobId }],
    ]);
    expect(w.logged('deploy job finished')).toEqual([expect.objectContaining({ jobId: job.jobId, counts: { released: 3 } })]);
    for (const step of ['commit', 'submit', 'poll', 'release']) expect(await w.metric('fleetSteps', { step, outcome: 'ok' })).toBe(3);
    expect(await w.metric('fleetTransitions', { from: 'approved', to: 'released' })).toBe(3);
    // A finished job is finished once.
    w.fleet.kick();
    await new Promise((r) => setTimeout(r, 50));
    expect(w.events.filter((e) => e.name === 'done')).toHaveLength(1);
  });

  it('runs the merchant furthest along first: release, then submit, then commit', async () => {
    const w = await world({}, ['wxa0', 'wxa1', 'wxa2', 'wxa3']);
    const job = await w.fleet.createJob(deploy({ options: { concurrency: 1 } }));
    await w.setTarget(job.jobId, 'wxa0', { nextAt: T0 - 10 });
    await w.setTarget(job.jobId, 'wxa2', { state: 'committed' });
    await w.setTarget(job.jobId, 'wxa3', { state: 'approved', auditid: 5 });
    await w.fleet.start();
    await until(() => w.wechat.count('commit') === 2, 'both commits');
    expect(w.wechat.calls.filter((c) => !c.endsWith(':queryQuota')).slice(0, 5)).toEqual([
      'wxa0:commit',
      'wxa3:release',
      'wxa2:submitAudit',
      'wxa0:submitAudit',
      'wxa1:commit',
    ]);
  });

  it('a job that only commits finishes when every merchant is committed', async () => {
    const w = await world();
    const job = await w.fleet.createJob(deploy({ options: { submitAudit: false } }));
    await w.fleet.start();
    expect(await w.fleet.idle(job.jobId, 5)).toMatchObject({ status: 'done' });
    expect(w.wechat.calls.sort()).toEqual(['wxa1:commit', 'wxa2:commit', 'wxa3:commit']);
    expect((await w.fleet.progress(job.jobId)).counts.committed).toBe(3);
  });

  it('releases as gray when a percentage is set', async () => {
    const w = await world({}, ['wxa1']);
    const job = await w.fleet.createJob(deploy({ options: { grayPercentage: 20 } }));
    await w.setTarget(job.jobId, 'wxa1', { state: 'approved', auditid: 3 });
    await w.fleet.start();
    expect(await w.fleet.idle(job.jobId, 5)).toMatchObject({ status: 'done' });
    expect(w.wechat.calls).toEqual(['wxa1:grayRelease']);
    expect(await w.metric('fleetSteps', { step: 'gray', outcome: 'ok' })).toBe(1);
  });

  it('asks queryquota once per TTL, counts submissions down itself, and pauses the job when none are left', async () => {
    const w = await world({}, ['wxa1', 'wxa2', 'wxa3']);
    w.wechat.state.quota = 2;
    const job = await w.fleet.createJob(deploy({ options: { concurrency: 1, release: false } }));
    await w.fleet.start();
    const paused = await w.fleet.idle(job.jobId, 5);
    expect(paused).toMatchObject({ status: 'paused', pause: { code: 'audit_quota', message: 'no audit submissions left this month (queryquota rest = 0)', at: T0 } });
    expect(w.wechat.count('queryQuota')).toBe(1);
    expect(w.wechat.count('submitAudit')).toBe(2);
    expect(await w.metric('fleetPauses', { code: 'audit_quota' })).toBe(1);
    expect(w.events.filter((e) => e.name === 'paused').map((e) => e.args[0])).toEqual([
      { jobId: job.jobId, code: 'audit_quota', message: 'no audit submissions left this month (queryquota rest = 0)' },
    ]);
    // The merchant left waits, committed, its attempt not counted.
    expect(await w.fleet.listTargets(job.jobId, { state: 'committed' })).toEqual([expect.objectContaining({ attempts: 0, intent: null })]);

    // Resuming forgets the cached count: WeChat is asked again.
    w.wechat.state.quota = 5;
    await w.fleet.resume(job.jobId);
    await until(async () => (await w.fleet.progress(job.jobId)).counts.audit_submitted === 3, 'the third submission');
    expect(w.wechat.count('queryQuota')).toBe(2);
    expect(w.wechat.count('submitAudit')).toBe(3);
  });

  it('trusts a queryquota answer for quotaTtlMs and asks again after', async () => {
    const w = await world({ quotaTtlMs: 1_000 }, ['wxa1', 'wxa2', 'wxa3']);
    const submitted = (n: number) => until(() => w.wechat.count('submitAudit') === n, `submission ${n}`);
    await w.fleet.createJob(deploy({ targets: { appids: ['wxa1'] } }));
    await w.fleet.start();
    await submitted(1);
    w.clock.advance(1_000);
    await w.fleet.createJob(deploy({ targets: { appids: ['wxa2'] } }));
    await submitted(2);
    expect(w.wechat.count('queryQuota')).toBe(1);
    w.clock.advance(1);
    await w.fleet.createJob(deploy({ targets: { appids: ['wxa3'] } }));
    await submitted(3);
    expect(w.wechat.count('queryQuota')).toBe(2);
    expect(w.wechat.count('submitAudit')).toBe(3);
  });

  it('a quota error from WeChat pauses the job with its errcode; the other merchants wait', async () => {
    const w = await world();
    w.wechat.then('commit', () => Promise.reject(apiError(45009, '/wxa/commit')));
    const job = await w.fleet.createJob(deploy({ options: { concurrency: 1 } }));
    await w.fleet.start();
    const paused = await w.fleet.idle(job.jobId, 5);
    expect(paused.pause).toEqual({ code: 'api_quota', errcode: 45009, message: '/wxa/commit: 45009 err 45009', at: T0 });
    await new Promise((r) => setTimeout(r, 50));
    expect(w.wechat.count('commit')).toBe(1);
    expect(await w.metric('fleetPauses', { code: 'api_quota' })).toBe(1);
  });

  it('a cancelled job starts no more merchants', async () => {
    const w = await world();
    let release!: () => void;
    w.wechat.then('commit', () => new Promise((r) => (release = () => r({ errcode: 0 }))));
    const job = await w.fleet.createJob(deploy({ options: { concurrency: 1 } }));
    await w.fleet.start();
    await until(() => w.wechat.count('commit') === 1, 'the first commit');
    await w.fleet.cancel(job.jobId);
    release();
    await new Promise((r) => setTimeout(r, 80));
    expect(w.wechat.count('commit')).toBe(1);
    expect(await w.fleet.getJob(job.jobId)).toMatchObject({ status: 'cancelled' });
  });

  it('spends a job fleet-wide rate: a step past it waits its turn without counting an attempt', async () => {
    const w = await world();
    const job = await w.fleet.createJob(deploy({ options: { submitAudit: false, concurrency: 1, rates: 'wxa/commit=1/h' } }));
    await w.fleet.start();
    await until(async () => (await w.fleet.listTargets(job.jobId, { state: 'committed' })).length === 1, 'one commit');
    await until(async () => (await w.metric('fleetSteps', { step: 'commit', outcome: 'retry' })) === 2, 'two waiting');
    expect(w.wechat.count('commit')).toBe(1);
    const waiting = await w.fleet.listTargets(job.jobId, { state: 'pending' });
    expect(waiting.map((t) => t.attempts)).toEqual([0, 0]);
    for (const t of waiting) expect((await w.row(job.jobId, t.appid)).nextAt).toBeGreaterThan(T0 + 3_000_000);
    // An hour later the bucket has one more token (and a few ms for the bucket's float arithmetic).
    w.clock.advance(3_600_010);
    w.fleet.kick();
    await until(async () => (await w.fleet.listTargets(job.jobId, { state: 'committed' })).length === 2, 'the second commit');
    expect(w.wechat.count('commit')).toBe(2);
  });

  it('fetches the next page of due merchants once it runs low, without waiting for the next scan', async () => {
    const appids = Array.from({ length: 1_001 }, (_, i) => `wx${String(i).padStart(5, '0')}`);
    const w = await world({ scanMs: 600_000 }, appids);
    const job = await w.fleet.createJob(deploy({ options: { submitAudit: false, concurrency: 50 } }));
    await w.fleet.start();
    await until(async () => (await w.fleet.progress(job.jobId)).counts.committed === 1_001, 'every merchant committed', 20_000);
    expect(w.wechat.count('commit')).toBe(1_001);
  });

  it('a failed scan and a step that could not run are logged, and the next scan carries on', async () => {
    const w = await world();
    const job = await w.fleet.createJob(deploy({ options: { submitAudit: false } }));
    const due = w.store.dueFleetTargets.bind(w.store);
    let failScan = true;
    w.store.dueFleetTargets = async (...args) => {
      if (failScan) {
        failScan = false;
        throw new Error('database is locked');
      }
      return due(...args);
    };
    const get = w.store.getFleetTarget.bind(w.store);
    let failStep = true;
    w.store.getFleetTarget = async (c, j, appid) => {
      if (failStep && appid === 'wxa2') {
        failStep = false;
        throw new Error('disk I/O error');
      }
      return get(c, j, appid);
    };
    await w.fleet.start();
    expect(await w.fleet.idle(job.jobId, 5)).toMatchObject({ status: 'done' });
    expect(w.logged('fleet scan failed; retrying at the next interval')).toEqual([expect.objectContaining({ level: 40, err: expect.objectContaining({ message: 'database is locked' }) })]);
    expect(w.logged('fleet step could not run; retried after its lease')).toEqual([
      expect.objectContaining({ level: 40, jobId: job.jobId, appid: 'wxa2', err: expect.objectContaining({ message: 'disk I/O error' }) }),
    ]);
  });

  it('stop ends the runner: a job created after it is not run', async () => {
    const w = await world();
    await w.fleet.start();
    await w.fleet.stop();
    expect(w.fleet.runnerKind).toBeUndefined();
    const job = await w.fleet.createJob(deploy());
    w.fleet.kick();
    await new Promise((r) => setTimeout(r, 60));
    expect(w.wechat.calls).toEqual([]);
    expect(await w.fleet.getJob(job.jobId)).toMatchObject({ status: 'running' });
  });
});

describe('Fleet: audit results pushed by WeChat', () => {
  it('success → approved and released at once; fail → rejected with the reason; delay → delayed', async () => {
    const w = await world();
    const job = await w.fleet.createJob(deploy());
    for (const appid of ['wxa1', 'wxa2', 'wxa3']) await w.setTarget(job.jobId, appid, { state: 'audit_submitted', auditid: 1, nextAt: T0 + 600_000 });
    await w.fleet.start();
    w.clock.advance(10);

    await w.fleet.onAuditEvent(audit('event.weapp_audit_success', 'wxa1', { SuccTime: 1 }));
    await until(async () => (await w.row(job.jobId, 'wxa1')).state === 'released', 'wxa1 released');
    expect(w.wechat.calls).toEqual(['wxa1:release']);

    await w.fleet.onAuditEvent(audit('event.weapp_audit_fail', 'wxa2', { Reason: 'icon is blurry', FailTime: 1 }));
    expect(await w.row(job.jobId, 'wxa2')).toMatchObject({ state: 'rejected', reason: 'icon is blurry', nextAt: null, leaseUntil: null, updatedAt: T0 + 10 });

    await w.fleet.onAuditEvent(audit('event.weapp_audit_delay', 'wxa3', { Reason: 'more checks', DelayTime: 1 }));
    expect(await w.row(job.jobId, 'wxa3')).toMatchObject({ state: 'delayed', reason: 'more checks', nextAt: T0 + 10 + 600_000 });
    const version = (await w.row(job.jobId, 'wxa3')).version;
    // The same result again changes nothing.
    await w.fleet.onAuditEvent(audit('event.weapp_audit_delay', 'wxa3', { Reason: 'more checks', DelayTime: 1 }));
    expect((await w.row(job.jobId, 'wxa3')).version).toBe(version);

    expect(await w.metric('fleetSteps', { step: 'poll', outcome: 'pushed' })).toBe(3);
    expect(await w.metric('fleetTransitions', { from: 'audit_submitted', to: 'rejected' })).toBe(1);
    expect(await w.metric('fleetTransitions', { from: 'audit_submitted', to: 'delayed' })).toBe(1);
    expect(w.wechat.count('getAuditStatus')).toBe(0);
  });

  it('a success with an empty reason stores none; a merchant with nothing auditing is left alone', async () => {
    const w = await world();
    const job = await w.fleet.createJob(deploy({ options: { release: false } }));
    await w.setTarget(job.jobId, 'wxa1', { state: 'delayed', auditid: 1, reason: 'old', nextAt: T0 + 600_000 });
    await w.fleet.onAuditEvent(audit('event.weapp_audit_success', 'wxa1', { SuccTime: 1, Reason: 'ignored' }));
    expect(await w.row(job.jobId, 'wxa1')).toMatchObject({ state: 'approved', reason: null, nextAt: null });
    await w.fleet.onAuditEvent(audit('event.weapp_audit_fail', 'wxa2', { Reason: '', FailTime: 1 }));
    expect(await w.row(job.jobId, 'wxa2')).toMatchObject({ state: 'pending' });
  });

  it('a result that arrives before the submission is written waits for that write, then applies', async () => {
    const w = await world({}, ['wxa1']);
    const job = await w.fleet.createJob(deploy({ options: { release: false } }));
    await w.setTarget(job.jobId, 'wxa1', { state: 'committed', intent: 'submit', intentAt: T0, leaseUntil: T0 + 60_000 });
    const applied = w.fleet.onAuditEvent(audit('event.weapp_audit_fail', 'wxa1', { Reason: 'icon', FailTime: 1 }));
    await new Promise((r) => setTimeout(r, 150));
    expect((await w.row(job.jobId, 'wxa1')).state).toBe('committed');
    await w.setTarget(job.jobId, 'wxa1', { state: 'audit_submitted', auditid: 4, intent: null, intentAt: null, leaseUntil: null });
    await applied;
    expect(await w.row(job.jobId, 'wxa1')).toMatchObject({ state: 'rejected', reason: 'icon', auditid: 4 });
  });

  it.each([
    ['gives up waiting for a submission that never lands after 20 reads', { intent: 'submit', intentAt: T0, leaseUntil: T0 + 60_000 }, 20],
    ['does not wait for a committed merchant that is not submitting', {}, 1],
  ] as const)('%s', async (_title, submitting, expectedReads) => {
    const w = await world({}, ['wxa1']);
    const job = await w.fleet.createJob(deploy());
    await w.setTarget(job.jobId, 'wxa1', { state: 'committed', ...submitting });
    const find = w.store.findFleetTargetsByAppid.bind(w.store);
    let reads = 0;
    w.store.findFleetTargetsByAppid = async (...args) => {
      reads++;
      return find(...args);
    };
    await w.fleet.onAuditEvent(audit('event.weapp_audit_success', 'wxa1', { SuccTime: 1 }));
    expect(reads).toBe(expectedReads);
    expect((await w.row(job.jobId, 'wxa1')).state).toBe('committed');
  });

  it('a row changed under it is read again and moved on the next try', async () => {
    const w = await world({}, ['wxa1']);
    const job = await w.fleet.createJob(deploy({ options: { release: false } }));
    await w.setTarget(job.jobId, 'wxa1', { state: 'audit_submitted', auditid: 4 });
    const update = w.store.updateFleetTarget.bind(w.store);
    let raced = false;
    w.store.updateFleetTarget = async (c, j, appid, version, patch) => {
      if (!raced && patch.state === 'approved') {
        raced = true;
        // Another writer bumps the row between our read and our write.
        await update(c, j, appid, version, { updatedAt: T0 + 1 });
      }
      return update(c, j, appid, version, patch);
    };
    await w.fleet.onAuditEvent(audit('event.weapp_audit_success', 'wxa1', { SuccTime: 1 }));
    expect(raced).toBe(true);
    expect((await w.row(job.jobId, 'wxa1')).state).toBe('approved');
  });
});
