import { describe, expect, it } from 'vitest';
import {
  deployable,
  isSettled,
  nextStep,
  planDeploy,
  progressOf,
  reportToCsv,
  resolveOptions,
  stateForAuditStatus,
  TARGET_STATES,
} from '../../../src/fleet/index.js';
import type { AuthorizerRecord } from '../../../src/store/types.js';
import { fleetJob as job, fleetTarget as t } from './fixtures.js';

const auth = (appid: string, over: Partial<AuthorizerRecord> = {}): AuthorizerRecord => ({
  componentAppid: 'wxc',
  authorizerAppid: appid,
  status: 'authorized',
  statusReason: null,
  funcInfo: [17, 18, 19],
  refreshTokenEnc: null,
  accessTokenEnc: null,
  accessExpiresAt: null,
  version: 1,
  authorizedAt: 0,
  updatedAt: 0,
  info: { principal_name: 'P' },
  eventTime: null,
  ...over,
});

const AUTHS = [
  auth('wxc3'),
  auth('wxa1', { info: { principal_name: 'Q' } }),
  auth('wxa2', { funcInfo: [17] }),
  auth('wxb1', { status: 'unauthorized' }),
  auth('wxa3', { funcInfo: [18, 30] }),
];
const base = { templateId: 7, userVersion: '1.0.0' };
/** The template library's ids (0 for the edge test). */
const LIBRARY: ReadonlySet<number> = new Set([0, 7]);

describe('the state machine', () => {
  it('knows the next step of every state', () => {
    const full = resolveOptions();
    expect(TARGET_STATES.map((s) => nextStep(s, full) ?? '-')).toEqual(['commit', 'submit', 'poll', 'poll', 'release', '-', '-', '-', '-', '-']);
    expect(nextStep('approved', resolveOptions({ grayPercentage: 10 }))).toBe('gray');
    expect(nextStep('approved', resolveOptions({ release: false }))).toBeUndefined();
    expect(nextStep('committed', resolveOptions({ submitAudit: false }))).toBeUndefined();
  });

  it('knows when the job is finished with a merchant', () => {
    const full = resolveOptions();
    expect(TARGET_STATES.filter((s) => isSettled(s, full))).toEqual(['rejected', 'released', 'failed', 'withdrawn', 'reverted']);
    expect(isSettled('approved', resolveOptions({ release: false }))).toBe(true);
    expect(isSettled('committed', resolveOptions({ submitAudit: false }))).toBe(true);
    expect(isSettled('committed', full)).toBe(false);
  });

  it('maps WeChat audit statuses', () => {
    expect([0, 1, 2, 3, 4].map(stateForAuditStatus)).toEqual(['approved', 'rejected', 'audit_submitted', 'withdrawn', 'delayed']);
  });

  it('fills option defaults; no release without audit', () => {
    expect(resolveOptions()).toEqual({ submitAudit: true, audit: {}, release: true, grayPercentage: null, concurrency: 8, rates: '', pollIntervalMs: 600_000 });
    expect(resolveOptions({ submitAudit: false, release: true }).release).toBe(false);
    expect(resolveOptions({ release: false }).release).toBe(false);
  });
});

describe('planDeploy', () => {
  it('targets every authorized mini program with code management, in appid order', () => {
    expect(AUTHS.filter(deployable).map((a) => a.authorizerAppid)).toEqual(['wxc3', 'wxa1', 'wxa3']);
    const plan = planDeploy({ ...base, targets: { all: true } }, AUTHS, new Map(), LIBRARY);
    expect(plan.issues).toEqual([]);
    expect(plan.targets).toEqual([
      { appid: 'wxa1', extJson: '{}' },
      { appid: 'wxa3', extJson: '{}' },
      { appid: 'wxc3', extJson: '{}' },
    ]);
  });

  it('filters by prefix, principal and permission sets', () => {
    const ids = (f: object) => planDeploy({ ...base, targets: { filter: f } }, AUTHS, new Map(), LIBRARY).targets.map((t) => t.appid);
    expect(ids({ appidPrefix: 'wxa' })).toEqual(['wxa1', 'wxa3']);
    expect(ids({ principalName: 'P' })).toEqual(['wxa3', 'wxc3']);
    expect(ids({ funcInfo: [30] })).toEqual(['wxa3']);
    expect(planDeploy({ ...base, targets: { filter: { appidPrefix: 'zz' } } }, AUTHS, new Map(), LIBRARY).issues).toEqual([{ field: 'targets', problem: 'no mini program matches' }]);
  });

  it('takes ext_json from the file, then the stored one, then the default', () => {
    const plan = planDeploy(
      { ...base, targets: { appids: ['wxa1', 'wxa3', 'wxc3', 'wxa1'] }, extJson: { byAppid: { wxa1: { f: 1 } }, default: '{"d":1}' } },
      AUTHS,
      new Map([['wxa1', '{"s":1}'], ['wxa3', '{"s":3}']]),
      LIBRARY,
    );
    expect(plan.targets).toEqual([
      { appid: 'wxa1', extJson: '{"f":1}' },
      { appid: 'wxa3', extJson: '{"s":3}' },
      { appid: 'wxc3', extJson: '{"d":1}' },
    ]);
    const noStored = planDeploy({ ...base, targets: { appids: ['wxa3'] }, extJson: { useStored: false } }, AUTHS, new Map([['wxa3', '{"s":3}']]), LIBRARY);
    expect(noStored.targets).toEqual([{ appid: 'wxa3', extJson: '{}' }]);
  });

  it('refuses a template id the template library does not hold', () => {
    expect(planDeploy({ ...base, templateId: 99, targets: { appids: ['wxa1'] } }, AUTHS, new Map(), LIBRARY).issues).toEqual([
      { field: 'templateId', problem: 'template 99 is not in the template library (wxopen templates list)' },
    ]);
    expect(planDeploy({ ...base, targets: { appids: ['wxa1'] } }, AUTHS, new Map(), new Set()).issues).toHaveLength(1);
  });

  it('lists every problem at once', () => {
    const plan = planDeploy(
      {
        templateId: 1.5,
        userVersion: 'x'.repeat(65),
        targets: { appids: ['wxa2', 'wxb1', 'wxnone', 'wxa1', 'wxa3'] },
        extJson: { byAppid: { wxa1: '[]', wxzz: '{}' }, required: true },
        options: { grayPercentage: 101, submitAudit: false, release: true, concurrency: 0, pollIntervalMs: 10, audit: { item_list: [] } },
      },
      AUTHS,
      new Map(),
      LIBRARY,
    );
    expect(plan.issues).toEqual([
      { field: 'templateId', problem: 'must be a non-negative integer' },
      { field: 'userVersion', problem: 'must be 1..64 characters' },
      { field: 'options.grayPercentage', problem: 'must be an integer 1..100' },
      { field: 'options.release', problem: 'needs submitAudit' },
      { field: 'options.concurrency', problem: 'must be a positive integer' },
      { field: 'options.pollIntervalMs', problem: 'must be at least 1000' },
      { field: 'options.audit.item_list', problem: '1..5 items (spec: 85023)' },
      { appid: 'wxa2', field: 'targets', problem: 'not authorized with code management (permission set 18)' },
      { appid: 'wxb1', field: 'targets', problem: 'not authorized with code management (permission set 18)' },
      { appid: 'wxnone', field: 'targets', problem: 'not an authorizer of this platform' },
      { appid: 'wxa1', field: 'extJson', problem: 'must be a JSON object' },
      { appid: 'wxa2', field: 'extJson', problem: 'none given, stored or default' },
      { appid: 'wxa3', field: 'extJson', problem: 'none given, stored or default' },
      { appid: 'wxb1', field: 'extJson', problem: 'none given, stored or default' },
      { appid: 'wxnone', field: 'extJson', problem: 'none given, stored or default' },
      { appid: 'wxzz', field: 'extJson', problem: 'given for a merchant that is not a target' },
    ]);
  });

  it('accepts the edges of the limits', () => {
    const ok = planDeploy({ templateId: 0, userVersion: 'v'.repeat(64), targets: { appids: ['wxa1'] }, options: { grayPercentage: 100, pollIntervalMs: 1000, concurrency: 1, audit: { item_list: [{}, {}, {}, {}, {}] } } }, AUTHS, new Map(), LIBRARY);
    expect(ok.issues).toEqual([]);
    const one = planDeploy({ ...base, userVersion: 'v', targets: { appids: ['wxa1'] }, options: { grayPercentage: 1, audit: { item_list: [{}] } } }, AUTHS, new Map(), LIBRARY);
    expect(one.issues).toEqual([]);
    expect(planDeploy({ ...base, templateId: -1, targets: { appids: ['wxa1'] } }, AUTHS, new Map(), LIBRARY).issues).toHaveLength(1);
    expect(planDeploy({ ...base, userVersion: '', targets: { appids: ['wxa1'] } }, AUTHS, new Map(), LIBRARY).issues).toHaveLength(1);
    expect(planDeploy({ ...base, targets: { appids: ['wxa1'] }, options: { grayPercentage: 2.5 } }, AUTHS, new Map(), LIBRARY).issues).toHaveLength(1);
    expect(planDeploy({ ...base, targets: { appids: ['wxa1'] }, options: { audit: { item_list: [{}, {}, {}, {}, {}, {}] } } }, AUTHS, new Map(), LIBRARY).issues).toHaveLength(1);
  });
});

describe('progress and report', () => {
  it('counts every state, the settled ones, the rate and the time left', () => {
    const failed = [t('wxF', { error: { errcode: 85013, errmsg: 'invalid ext_json', step: 'commit' } }), t('wxR', { state: 'rejected', reason: '1:内容<br>2:账号' })];
    const p = progressOf(job(), { released: 3, failed: 1, rejected: 1, audit_submitted: 5 }, failed, 1_010_000);
    expect(p.counts).toEqual({ pending: 0, committed: 0, audit_submitted: 5, delayed: 0, approved: 0, rejected: 1, released: 3, failed: 1, withdrawn: 0, reverted: 0 });
    expect(p.settled).toBe(5);
    expect(p.ratePerSecond).toBe(0.5);
    expect(p.etaMs).toBe(10_000);
    expect(p.failures).toEqual([
      { appid: 'wxF', state: 'failed', errcode: 85013, reason: '85013 invalid ext_json' },
      { appid: 'wxR', state: 'rejected', errcode: null, reason: '1:内容<br>2:账号' },
    ]);
  });

  it('has no ETA before anything settled, nor once the job is over', () => {
    expect(progressOf(job(), { pending: 10 }, [], 1_005_000)).toMatchObject({ settled: 0, ratePerSecond: 0, etaMs: null });
    const done = progressOf(job({ status: 'done', finishedAt: 1_020_000 }), { released: 10 }, [], 9_999_999);
    expect(done).toMatchObject({ settled: 10, ratePerSecond: 0.5, etaMs: null });
    expect(progressOf(job({ status: 'paused' }), { released: 5, pending: 5 }, [], 1_010_000).etaMs).toBeNull();
  });

  it('writes the report as CSV', () => {
    const csv = reportToCsv([
      t('wxA', { state: 'released', auditid: 42, updatedAt: 0 }),
      t('wxB', { state: 'rejected', reason: 'a, "b"', updatedAt: 1000 }),
      t('wxC', { error: { errcode: -1, errmsg: 'system busy', step: 'commit' }, updatedAt: 2000 }),
    ]);
    expect(csv).toBe(
      'appid,state,auditid,errcode,errmsg,error_step,reason,updated_at\n' +
        'wxA,released,42,,,,,1970-01-01T00:00:00.000Z\n' +
        'wxB,rejected,,,,,"a, ""b""",1970-01-01T00:00:01.000Z\n' +
        'wxC,failed,,-1,system busy,commit,,1970-01-01T00:00:02.000Z\n',
    );
  });
});
