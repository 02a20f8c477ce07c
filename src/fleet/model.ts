import type { SubmitAuditRequest } from '../api/wxa-code.js';
import type { FleetJobRecord, FleetTargetRecord } from '../store/types.js';

/** A merchant's place in a deploy (issue 15); `delayed` is WeChat's weapp_audit_delay, still auditing. */
export const TARGET_STATES = [
  'pending',
  'committed',
  'audit_submitted',
  'delayed',
  'approved',
  'rejected',
  'released',
  'failed',
  'withdrawn',
  'reverted',
] as const;
export type TargetState = (typeof TARGET_STATES)[number];
export type JobStatus = FleetJobRecord['status'];
export type FleetStep = 'commit' | 'submit' | 'release' | 'gray' | 'poll' | 'withdraw' | 'rollback';
export type FleetPauseCode = 'audit_quota' | 'rate_limited' | 'api_quota' | 'manual';

export interface DeployOptions {
  /** Default true. */
  submitAudit?: boolean;
  /** submit_audit's body: item_list, privacy_api_not_use, version_desc… */
  audit?: SubmitAuditRequest;
  /** Release when approved; default true (needs submitAudit). */
  release?: boolean;
  /** 1..100: release as grayrelease with this percentage. */
  grayPercentage?: number;
  /** Merchants in flight per process; default 8. */
  concurrency?: number;
  /** Fleet-wide rates in WXOPEN_API_RATE_LIMITS syntax: `wxa/commit=20/s,wxa/submit_audit=5/s`. */
  rates?: string;
  /** get_auditstatus for audits with no push yet; default 10 min. */
  pollIntervalMs?: number;
}

export interface ResolvedDeployOptions {
  submitAudit: boolean;
  audit: SubmitAuditRequest;
  release: boolean;
  grayPercentage: number | null;
  concurrency: number;
  rates: string;
  pollIntervalMs: number;
}

export const DEFAULT_POLL_MS = 10 * 60_000;
export const DEFAULT_CONCURRENCY = 8;

export function resolveOptions(o: DeployOptions = {}): ResolvedDeployOptions {
  const submitAudit = o.submitAudit ?? true;
  return {
    submitAudit,
    audit: o.audit ?? {},
    release: submitAudit && (o.release ?? true),
    grayPercentage: o.grayPercentage ?? null,
    concurrency: o.concurrency ?? DEFAULT_CONCURRENCY,
    rates: o.rates ?? '',
    pollIntervalMs: o.pollIntervalMs ?? DEFAULT_POLL_MS,
  };
}

export interface FleetJob extends Omit<FleetJobRecord, 'options' | 'pause'> {
  id: string;
  options: ResolvedDeployOptions;
  pause: { code: FleetPauseCode; errcode?: number; message: string; at: number } | null;
}

export interface FleetTarget {
  jobId: string;
  appid: string;
  state: TargetState;
  extJson: string;
  auditid: number | null;
  reason: string | null;
  error: { errcode: number; errmsg: string; step: FleetStep } | null;
  intent: FleetStep | null;
  attempts: number;
  updatedAt: number;
}

/** A merchant's row as a new job stores it: pending, due at once, never tried. */
export function newTargetRecord(componentAppid: string, jobId: string, appid: string, extJson: string, now: number): FleetTargetRecord {
  return {
    componentAppid,
    jobId,
    appid,
    state: 'pending',
    extJson,
    auditid: null,
    reason: null,
    errcode: null,
    errmsg: null,
    errorStep: null,
    intent: null,
    intentAt: null,
    leaseUntil: null,
    nextAt: now,
    attempts: 0,
    version: 0,
    updatedAt: now,
  };
}

export function toJob(r: FleetJobRecord): FleetJob {
  return { ...r, id: r.jobId, options: r.options as unknown as ResolvedDeployOptions, pause: r.pause as FleetJob['pause'] };
}

export function toTarget(r: FleetTargetRecord): FleetTarget {
  return {
    jobId: r.jobId,
    appid: r.appid,
    state: r.state as TargetState,
    extJson: r.extJson,
    auditid: r.auditid,
    reason: r.reason,
    error: r.errcode === null ? null : { errcode: r.errcode, errmsg: r.errmsg ?? '', step: (r.errorStep ?? 'commit') as FleetStep },
    intent: r.intent as FleetStep | null,
    attempts: r.attempts,
    updatedAt: r.updatedAt,
  };
}

/** States where the job is finished with this merchant (nothing more happens without an operator). */
export function isSettled(state: TargetState, o: Pick<ResolvedDeployOptions, 'submitAudit' | 'release'>): boolean {
  switch (state) {
    case 'released':
    case 'rejected':
    case 'failed':
    case 'withdrawn':
    case 'reverted':
      return true;
    case 'approved':
      return !o.release;
    case 'committed':
      return !o.submitAudit;
    default:
      return false;
  }
}

/** The next WeChat step for a merchant in `state`, or undefined when the job has nothing to do for it. */
export function nextStep(state: TargetState, o: Pick<ResolvedDeployOptions, 'submitAudit' | 'release' | 'grayPercentage'>): FleetStep | undefined {
  switch (state) {
    case 'pending':
      return 'commit';
    case 'committed':
      return o.submitAudit ? 'submit' : undefined;
    case 'audit_submitted':
    case 'delayed':
      return 'poll';
    case 'approved':
      return o.release ? (o.grayPercentage === null ? 'release' : 'gray') : undefined;
    default:
      return undefined;
  }
}

/** get_auditstatus / push status → state: 0 passed · 1 rejected · 2 auditing · 3 withdrawn · 4 delayed. */
export function stateForAuditStatus(status: number): TargetState {
  switch (status) {
    case 0:
      return 'approved';
    case 1:
      return 'rejected';
    case 3:
      return 'withdrawn';
    case 4:
      return 'delayed';
    default:
      return 'audit_submitted';
  }
}
