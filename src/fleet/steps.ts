import { RateLimitedError } from '../api/rate-limit.js';
import type { WxaCodeApi } from '../api/wxa-code.js';
import { WeChatApiError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { FleetTargetPatch, FleetTargetRecord, Store } from '../store/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { nextStep, stateForAuditStatus, type FleetJob, type FleetPauseCode, type FleetStep, type TargetState } from './model.js';

/** WeChat's clock and ours differ a little: a version stamped this much before our intent is still ours. */
const RECONCILE_SLACK_MS = 5 * 60_000;
/** Codes where WeChat did not do the work and may later: try again after a backoff. */
const TRANSIENT_ERRCODES: ReadonlySet<number> = new Set([-1, 61039]);
/** Codes that stop the whole job until an operator (or time) lifts the limit. */
const PAUSE_ERRCODES: ReadonlyMap<number, FleetPauseCode> = new Map([
  [85085, 'audit_quota'],
  [45011, 'rate_limited'],
  [45009, 'api_quota'],
]);

export interface StepDeps {
  componentAppid: string;
  store: Store;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** The typed code-management client acting for `appid`. */
  wxa(appid: string): WxaCodeApi;
  /** Waits for the job's fleet-wide rate on `api` (`wxa/commit`); throws RateLimitedError past its wait. */
  acquire(job: FleetJob, api: string): Promise<void>;
  /** Audit submissions left this month (queryquota, cached); false when none. */
  takeAuditQuota(job: FleetJob, appid: string): Promise<boolean>;
  pauseJob(job: FleetJob, code: FleetPauseCode, message: string, errcode?: number): Promise<void>;
  onTransition(row: FleetTargetRecord, from: string): void;
  leaseMs: number;
  /** Attempts of one step before the merchant is failed with the last error. */
  maxAttempts: number;
  retryBackoffMs: number;
}

type Outcome = { patch: FleetTargetPatch; result: 'ok' | 'reconciled' };

/**
 * Runs the merchant's next step once: claims the row (compare-and-set, with the step as intent so a
 * crash leaves a trace), reconciles with WeChat when an earlier attempt's outcome is unknown, calls
 * WeChat and writes the new state. Returns the row as written, or undefined when another runner owns it
 * or there is nothing to do.
 */
export async function runStep(deps: StepDeps, job: FleetJob, appid: string): Promise<FleetTargetRecord | undefined> {
  const now = deps.clock.now();
  const row = await deps.store.getFleetTarget(deps.componentAppid, job.jobId, appid);
  if (!row || row.nextAt === null || row.nextAt > now) return undefined;
  if (row.leaseUntil !== null && row.leaseUntil > now) return undefined;
  const step = (row.intent as FleetStep | null) ?? nextStep(row.state as TargetState, job.options);
  if (!step) {
    await deps.store.updateFleetTarget(deps.componentAppid, job.jobId, appid, row.version, { nextAt: null, updatedAt: now });
    return undefined;
  }
  const reconciling = row.intent === step;
  const claimed = await deps.store.updateFleetTarget(deps.componentAppid, job.jobId, appid, row.version, {
    intent: step,
    intentAt: reconciling ? row.intentAt : now,
    leaseUntil: now + deps.leaseMs,
    attempts: row.attempts + 1,
    updatedAt: now,
  });
  if (!claimed) return undefined;
  let patch: FleetTargetPatch;
  try {
    const out = await perform(deps, job, claimed, step, reconciling);
    if (out === 'paused') return release(deps, job, claimed, { intent: null, intentAt: null, nextAt: deps.clock.now() });
    patch = out.patch;
    deps.metrics.fleetSteps.inc({ step, outcome: out.result });
  } catch (err) {
    patch = await failurePatch(deps, job, claimed, step, err);
  }
  return finish(deps, job, claimed, patch);
}

async function release(deps: StepDeps, job: FleetJob, row: FleetTargetRecord, patch: FleetTargetPatch): Promise<FleetTargetRecord | undefined> {
  // The attempt did not count: nothing reached WeChat.
  return deps.store.updateFleetTarget(deps.componentAppid, job.jobId, row.appid, row.version, {
    leaseUntil: null,
    attempts: row.attempts - 1,
    updatedAt: deps.clock.now(),
    ...patch,
  });
}

async function finish(deps: StepDeps, job: FleetJob, row: FleetTargetRecord, patch: FleetTargetPatch): Promise<FleetTargetRecord | undefined> {
  const written = await deps.store.updateFleetTarget(deps.componentAppid, job.jobId, row.appid, row.version, {
    leaseUntil: null,
    updatedAt: deps.clock.now(),
    ...patch,
  });
  if (written && written.state !== row.state) {
    deps.metrics.fleetTransitions.inc({ from: row.state, to: written.state });
    deps.onTransition(written, row.state);
  }
  return written;
}

/** The state a merchant moves to, with the intent cleared and its next look scheduled. */
export function moveTo(job: FleetJob, state: TargetState, now: number, extra: FleetTargetPatch = {}): FleetTargetPatch {
  const step = nextStep(state, job.options);
  const nextAt = step === undefined ? null : step === 'poll' ? now + job.options.pollIntervalMs : now;
  return { state, intent: null, intentAt: null, attempts: 0, errcode: null, errmsg: null, errorStep: null, nextAt, ...extra };
}

async function perform(deps: StepDeps, job: FleetJob, row: FleetTargetRecord, step: FleetStep, reconciling: boolean): Promise<Outcome | 'paused'> {
  const wxa = deps.wxa(row.appid);
  const intentAt = row.intentAt ?? deps.clock.now();
  const ours = (wechatSeconds: number) => wechatSeconds * 1000 >= intentAt - RECONCILE_SLACK_MS;
  const now = () => deps.clock.now();
  switch (step) {
    case 'commit': {
      if (reconciling) {
        const v = await wxa.getVersionInfo();
        const exp = v.exp_info;
        if (exp && exp.exp_version === job.userVersion && exp.exp_desc === job.userDesc && ours(exp.exp_time)) {
          return { patch: moveTo(job, 'committed', now()), result: 'reconciled' };
        }
      }
      await deps.acquire(job, 'wxa/commit');
      await wxa.commit({ template_id: job.templateId, ext_json: row.extJson, user_version: job.userVersion, user_desc: job.userDesc });
      return { patch: moveTo(job, 'committed', now()), result: 'ok' };
    }
    case 'submit': {
      if (reconciling) {
        const found = await latestAuditIfOurs(wxa, job, ours);
        if (found) return { patch: moveTo(job, stateForAuditStatus(found.status), now(), { auditid: found.auditid, reason: found.reason || null }), result: 'reconciled' };
      }
      if (!(await deps.takeAuditQuota(job, row.appid))) {
        await deps.pauseJob(job, 'audit_quota', 'no audit submissions left this month (queryquota rest = 0)');
        return 'paused';
      }
      await deps.acquire(job, 'wxa/submit_audit');
      const r = await wxa.submitAudit(job.options.audit);
      return { patch: moveTo(job, 'audit_submitted', now(), { auditid: r.auditid, reason: null }), result: 'ok' };
    }
    case 'poll': {
      if (row.auditid === null) return { patch: moveTo(job, 'committed', now()), result: 'reconciled' };
      await deps.acquire(job, 'wxa/get_auditstatus');
      const s = await wxa.getAuditStatus(row.auditid);
      const state = stateForAuditStatus(s.status);
      return { patch: moveTo(job, state, now(), { reason: s.reason || null }), result: 'ok' };
    }
    case 'release': {
      if (reconciling) {
        const rel = (await wxa.getVersionInfo()).release_info;
        if (rel && rel.release_version === job.userVersion && ours(rel.release_time)) return { patch: moveTo(job, 'released', now()), result: 'reconciled' };
      }
      await deps.acquire(job, 'wxa/release');
      try {
        await wxa.release();
      } catch (err) {
        // 85052: this version is already online, which is what the step wanted.
        if (!(err instanceof WeChatApiError && err.errcode === 85052)) throw err;
      }
      return { patch: moveTo(job, 'released', now()), result: 'ok' };
    }
    case 'gray': {
      if (reconciling) {
        const plan = (await wxa.getGrayReleasePlan()).gray_release_plan;
        if (plan.status === 1 && plan.gray_percentage === job.options.grayPercentage) return { patch: moveTo(job, 'released', now()), result: 'reconciled' };
      }
      await deps.acquire(job, 'wxa/grayrelease');
      await wxa.grayRelease({ gray_percentage: job.options.grayPercentage ?? 100 });
      return { patch: moveTo(job, 'released', now()), result: 'ok' };
    }
    default:
      throw new Error(`step ${step} is not run by the runner`);
  }
}

/** The newest audit when it is this job's submission (same version, submitted after our intent). */
async function latestAuditIfOurs(wxa: WxaCodeApi, job: FleetJob, ours: (s: number) => boolean) {
  try {
    const a = await wxa.getLatestAuditStatus();
    const submitted = a.submit_audit_time;
    if (a.user_version === job.userVersion && submitted !== undefined && ours(submitted)) return a;
    return undefined;
  } catch (err) {
    // 85058: no audit at all, so ours never arrived.
    if (err instanceof WeChatApiError && err.errcode === 85058) return undefined;
    throw err;
  }
}

async function failurePatch(deps: StepDeps, job: FleetJob, row: FleetTargetRecord, step: FleetStep, err: unknown): Promise<FleetTargetPatch> {
  const now = deps.clock.now();
  if (err instanceof RateLimitedError) {
    deps.metrics.fleetSteps.inc({ step, outcome: 'retry' });
    return { intent: null, intentAt: null, attempts: row.attempts - 1, nextAt: now + err.waitMs };
  }
  if (err instanceof WeChatApiError) {
    const pause = PAUSE_ERRCODES.get(err.errcode);
    if (pause) {
      deps.metrics.fleetSteps.inc({ step, outcome: 'paused' });
      await deps.pauseJob(job, pause, `${err.path}: ${err.errcode} ${err.errmsg}`, err.errcode);
      return { intent: null, intentAt: null, attempts: row.attempts - 1, nextAt: now, errcode: err.errcode, errmsg: err.errmsg, errorStep: step };
    }
    if (step === 'submit' && err.errcode === 85009) {
      // Another audit is running: ours if an earlier attempt landed, which the reconcile finds next time.
      if (row.attempts < deps.maxAttempts) return retryPatch(deps, row, step, err.errcode, err.errmsg, now);
    }
    if (!TRANSIENT_ERRCODES.has(err.errcode) || row.attempts >= deps.maxAttempts) {
      deps.metrics.fleetSteps.inc({ step, outcome: 'failed' });
      deps.logger.warn({ jobId: job.jobId, appid: row.appid, step, errcode: err.errcode, errmsg: err.errmsg }, 'fleet step failed');
      return { state: 'failed', intent: null, intentAt: null, nextAt: null, errcode: err.errcode, errmsg: err.errmsg, errorStep: step };
    }
    return retryPatch(deps, row, step, err.errcode, err.errmsg, now);
  }
  // Network, timeout, 5xx: WeChat may or may not have done it. Keep the intent: the next attempt reconciles.
  const message = err instanceof Error ? err.message : String(err);
  if (row.attempts >= deps.maxAttempts) {
    deps.metrics.fleetSteps.inc({ step, outcome: 'failed' });
    return { state: 'failed', intent: null, intentAt: null, nextAt: null, errcode: -2, errmsg: message, errorStep: step };
  }
  deps.metrics.fleetSteps.inc({ step, outcome: 'retry' });
  return { nextAt: now + backoff(deps, row.attempts), errcode: -2, errmsg: message, errorStep: step };
}

function retryPatch(deps: StepDeps, row: FleetTargetRecord, step: FleetStep, errcode: number, errmsg: string, now: number): FleetTargetPatch {
  deps.metrics.fleetSteps.inc({ step, outcome: 'retry' });
  // The intent stays: -1 may still have been done, so the next attempt reconciles first.
  return { nextAt: now + backoff(deps, row.attempts), errcode, errmsg, errorStep: step };
}

function backoff(deps: StepDeps, attempts: number): number {
  return deps.retryBackoffMs * 2 ** Math.max(attempts - 1, 0);
}
