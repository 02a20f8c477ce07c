import { describe, expect, it } from 'vitest';
import { formatCounts, formatDuration, progressBar, progressLine, type ProgressSnapshot } from '../../../src/admin/progress.js';

const snap = (o: Partial<ProgressSnapshot> = {}): ProgressSnapshot => ({
  job: { id: 'fj_0123456789abcdef', status: 'running', pause: null },
  total: 200,
  counts: { pending: 60, committed: 0, audit_submitted: 30, released: 104, failed: 4, rejected: 2 },
  settled: 110,
  ratePerSecond: 3.24,
  etaMs: 27_800,
  ...o,
});

describe('deploy progress formatting', () => {
  it('lists non-zero states in the order of the state machine, failures last', () => {
    expect(formatCounts(snap().counts)).toBe('pending 60 · auditing 30 · released 104 · rejected 2 · failed 4');
    expect(formatCounts({ pending: 0 })).toBe('no targets');
    expect(formatCounts({ released: 1, surprising: 2 })).toBe('released 1 · surprising 2');
  });

  it('formats durations as m:ss or h:mm:ss', () => {
    expect(formatDuration(27_800)).toBe('0:28');
    expect(formatDuration(61_000)).toBe('1:01');
    expect(formatDuration(3_725_000)).toBe('1:02:05');
    expect(formatDuration(-5)).toBe('0:00');
  });

  it('draws a bar with percentage, counts, rate and ETA that fits the terminal', () => {
    const line = progressBar(snap(), 140);
    expect(line).toBe('[█████████████████░░░░░░░░░░░░░]  55% 110/200  pending 60 · auditing 30 · released 104 · rejected 2 · failed 4  3.2/s · ETA 0:28');
    const narrow = progressBar(snap(), 60);
    expect([...narrow]).toHaveLength(60);
    expect(narrow.endsWith('…')).toBe(true);
    expect(progressBar(snap({ settled: 200, etaMs: null }), 200)).toMatch(/100% 200\/200 .* done$/);
    expect(progressBar(snap({ ratePerSecond: 0, etaMs: null }), 200)).toMatch(/–\/s · ETA –$/);
    expect(progressBar(snap({ total: 0, settled: 0, counts: {} }), 200)).toMatch(/100% 0\/0  no targets/);
  });

  it('prints plain lines (no control characters) that say why a job is paused', () => {
    const line = progressLine(snap({ job: { id: 'fj_1', status: 'paused', pause: { message: 'audit quota used up (queryquota rest 0)' } }, ratePerSecond: 12.4 }));
    expect(line).toBe('fj_1 paused (audit quota used up (queryquota rest 0)): 110/200 settled (55%) · pending 60 · auditing 30 · released 104 · rejected 2 · failed 4 · 12/s · paused');
    expect(line).not.toMatch(/[\r\u001b]/);
  });
});
