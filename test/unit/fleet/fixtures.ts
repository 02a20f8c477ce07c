import { newTargetRecord, resolveOptions, type FleetJob, type FleetTarget } from '../../../src/fleet/model.js';
import type { FleetTargetRecord } from '../../../src/store/types.js';

/** A running job of 10 merchants created at 1 000 s, with the default options; the pure parts' tests start from it. */
export const fleetJob = (over: Partial<FleetJob> = {}): FleetJob => ({
  id: 'fj_1',
  jobId: 'fj_1',
  componentAppid: 'wxc',
  templateId: 1,
  userVersion: '1',
  userDesc: '',
  options: resolveOptions(),
  status: 'running',
  pause: null,
  total: 10,
  createdBy: null,
  createdAt: 1_000_000,
  updatedAt: 0,
  finishedAt: null,
  ...over,
});

/** A merchant of `fleetJob()`, failed without an error unless `over` says otherwise. */
export const fleetTarget = (appid: string, over: Partial<FleetTarget> = {}): FleetTarget => ({
  jobId: 'fj_1',
  appid,
  state: 'failed',
  extJson: '{}',
  auditid: null,
  reason: null,
  error: null,
  intent: null,
  attempts: 0,
  updatedAt: 0,
  ...over,
});

/** A stored merchant row as `createJob` writes it: pending, due at `now`, never tried. */
export const fleetTargetRecord = (componentAppid: string, jobId: string, appid: string, now: number, over: Partial<FleetTargetRecord> = {}): FleetTargetRecord => ({
  ...newTargetRecord(componentAppid, jobId, appid, '{}', now),
  ...over,
});
