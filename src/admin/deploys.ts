import type { CreateJobInput, DeployOptions, ExtJsonSources, Fleet, FleetJob, FleetProgress, FleetTarget, TargetSelector } from '../fleet/index.js';
import { parseExtJsonFile } from '../fleet/index.js';
import { AdminNotAvailableError } from './api/errors.js';

/** The fleet the operator surfaces act on; a server built without one answers 501. */
export function requireFleet(fleet: Fleet | undefined): Fleet {
  if (!fleet) throw new AdminNotAvailableError('the deploy engine is not running in this server');
  return fleet;
}

/** A deploy as the admin API takes it (snake_case, like the rest of /api/v1). */
export interface DeployBody {
  template_id: number;
  user_version: string;
  user_desc?: string;
  targets: { all?: boolean; appids?: string[]; filter?: { appid_prefix?: string; principal_name?: string; func_info?: number[] } };
  ext_json?: {
    by_appid?: Record<string, string | Record<string, unknown>>;
    file?: { format: 'json' | 'csv'; content: string };
    use_stored?: boolean;
    default?: string | Record<string, unknown>;
    required?: boolean;
  };
  options?: {
    submit_audit?: boolean;
    audit?: Record<string, unknown>;
    release?: boolean;
    gray_percentage?: number;
    concurrency?: number;
    rates?: string;
    poll_interval_ms?: number;
  };
}

function selector(t: DeployBody['targets']): TargetSelector {
  if (t.appids) return { appids: t.appids };
  if (t.filter) {
    const f = t.filter;
    return { filter: { ...(f.appid_prefix !== undefined && { appidPrefix: f.appid_prefix }), ...(f.principal_name !== undefined && { principalName: f.principal_name }), ...(f.func_info !== undefined && { funcInfo: f.func_info }) } };
  }
  return { all: true };
}

/** The API body → the engine's input. A file's entries are parsed here (its errors name lines) and win over `by_appid`. */
export function deployInput(body: DeployBody, createdBy: string): CreateJobInput {
  const e = body.ext_json ?? {};
  const byFile = e.file ? parseExtJsonFile(e.file.content, e.file.format) : undefined;
  const byAppid = e.by_appid || byFile ? { ...e.by_appid, ...byFile } : undefined;
  const extJson: ExtJsonSources = {
    ...(byAppid && { byAppid }),
    ...(e.use_stored !== undefined && { useStored: e.use_stored }),
    ...(e.default !== undefined && { default: e.default }),
    ...(e.required !== undefined && { required: e.required }),
  };
  const o = body.options ?? {};
  const options: DeployOptions = {
    ...(o.submit_audit !== undefined && { submitAudit: o.submit_audit }),
    ...(o.audit !== undefined && { audit: o.audit as DeployOptions['audit'] }),
    ...(o.release !== undefined && { release: o.release }),
    ...(o.gray_percentage !== undefined && { grayPercentage: o.gray_percentage }),
    ...(o.concurrency !== undefined && { concurrency: o.concurrency }),
    ...(o.rates !== undefined && { rates: o.rates }),
    ...(o.poll_interval_ms !== undefined && { pollIntervalMs: o.poll_interval_ms }),
  };
  return { templateId: body.template_id, userVersion: body.user_version, ...(body.user_desc !== undefined && { userDesc: body.user_desc }), targets: selector(body.targets), extJson, options, createdBy };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function jobView(j: FleetJob): Record<string, unknown> {
  const o = j.options;
  return {
    id: j.id,
    template_id: j.templateId,
    user_version: j.userVersion,
    user_desc: j.userDesc,
    status: j.status,
    pause: j.pause ? { code: j.pause.code, errcode: j.pause.errcode ?? null, message: j.pause.message, at: iso(j.pause.at) } : null,
    total: j.total,
    created_by: j.createdBy,
    created_at: iso(j.createdAt),
    updated_at: iso(j.updatedAt),
    finished_at: iso(j.finishedAt),
    options: { submit_audit: o.submitAudit, release: o.release, gray_percentage: o.grayPercentage, concurrency: o.concurrency, rates: o.rates, poll_interval_ms: o.pollIntervalMs },
  };
}

export function progressView(p: FleetProgress): Record<string, unknown> {
  return {
    job: jobView(p.job),
    total: p.total,
    counts: p.counts,
    settled: p.settled,
    rate_per_second: Math.round(p.ratePerSecond * 1000) / 1000,
    eta_seconds: p.etaMs === null ? null : Math.round(p.etaMs / 1000),
    failures: p.failures,
  };
}

export function targetView(t: FleetTarget): Record<string, unknown> {
  return {
    appid: t.appid,
    state: t.state,
    auditid: t.auditid,
    reason: t.reason,
    error: t.error,
    attempts: t.attempts,
    ext_json: t.extJson,
    updated_at: iso(t.updatedAt),
  };
}
