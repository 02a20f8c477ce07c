/** pass: fine; warn: works today but needs attention; fail: broken now; skip: not applicable or blocked by a failure. */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export const CHECK_IDS = [
  'config',
  'database',
  'schema',
  'database-write',
  'secret-keys',
  'redis',
  'ticket',
  'component-token',
  'egress-ip',
  'public-url',
  'clock',
  'authorizers',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

export interface CheckResult {
  id: CheckId;
  status: CheckStatus;
  /** One line: what was found. */
  message: string;
  /** One line: what to do about it (warn and fail). */
  fix?: string;
  /** Figures for monitoring (`--json`): ages in seconds, the egress IP, pending migration names… */
  data?: Record<string, unknown>;
}

export interface DoctorReport {
  ok: boolean;
  checkedAt: string;
  summary: Record<CheckStatus, number>;
  checks: CheckResult[];
}

export function buildReport(checks: CheckResult[], now: number): DoctorReport {
  const summary: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) summary[c.status]++;
  return { ok: summary.fail === 0, checkedAt: new Date(now).toISOString(), summary, checks };
}

/** `  fail  database        cannot connect…` with the fix indented below; ends with the counts. */
export function formatReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.id.length)) + 2;
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${c.status.padEnd(5)} ${c.id.padEnd(width)}${c.message}`);
    if (c.fix) lines.push(`${' '.repeat(6 + width)}fix: ${c.fix}`);
  }
  const s = report.summary;
  lines.push('', `${s.pass} passed, ${s.warn} warning${s.warn === 1 ? '' : 's'}, ${s.fail} failed, ${s.skip} skipped`);
  return `${lines.join('\n')}\n`;
}
