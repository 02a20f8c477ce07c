import { csvField } from './ext-json.js';
import { isSettled, TARGET_STATES, type FleetJob, type FleetTarget, type TargetState } from './model.js';

export interface FleetProgress {
  job: FleetJob;
  total: number;
  /** Every state, 0 when none. */
  counts: Record<TargetState, number>;
  /** Merchants the job is finished with. */
  settled: number;
  /** Settled merchants per second since the job started. */
  ratePerSecond: number;
  /** Time left at that rate; null before any merchant settled or once the job is over. */
  etaMs: number | null;
  failures: Array<{ appid: string; state: 'failed' | 'rejected'; errcode: number | null; reason: string }>;
}

export function progressOf(job: FleetJob, stored: Record<string, number>, failed: readonly FleetTarget[], now: number): FleetProgress {
  const counts = Object.fromEntries(TARGET_STATES.map((s) => [s, stored[s] ?? 0])) as Record<TargetState, number>;
  const settled = TARGET_STATES.filter((s) => isSettled(s, job.options)).reduce((n, s) => n + counts[s], 0);
  const end = job.finishedAt ?? now;
  const elapsed = Math.max(end - job.createdAt, 1);
  const ratePerSecond = (settled * 1000) / elapsed;
  const left = job.total - settled;
  const etaMs = job.status === 'running' && ratePerSecond > 0 && left > 0 ? Math.round((left / ratePerSecond) * 1000) : null;
  return {
    job,
    total: job.total,
    counts,
    settled,
    ratePerSecond,
    etaMs,
    failures: failed
      .filter((t): t is FleetTarget & { state: 'failed' | 'rejected' } => t.state === 'failed' || t.state === 'rejected')
      .map((t) => ({
        appid: t.appid,
        state: t.state,
        errcode: t.error?.errcode ?? null,
        reason: t.state === 'rejected' ? (t.reason ?? '') : `${t.error?.errcode ?? ''} ${t.error?.errmsg ?? ''}`.trim(),
      })),
  };
}

const CSV_HEADER = 'appid,state,auditid,errcode,errmsg,error_step,reason,updated_at';

/** A job's report as CSV (one merchant a line, appid order as given). */
export function reportToCsv(targets: readonly FleetTarget[]): string {
  const lines = targets.map((t) =>
    [t.appid, t.state, t.auditid, t.error?.errcode ?? null, t.error?.errmsg ?? null, t.error?.step ?? null, t.reason, new Date(t.updatedAt).toISOString()]
      .map(csvField)
      .join(','),
  );
  return [CSV_HEADER, ...lines].join('\n') + '\n';
}
