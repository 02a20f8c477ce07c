/** What the progress line needs from `fleet.progress()` (structural, so the engine's type fits). */
export interface ProgressSnapshot {
  job: { id: string; status: string; pause?: { message: string } | null };
  total: number;
  counts: Record<string, number>;
  settled: number;
  ratePerSecond: number;
  etaMs: number | null;
}

/** Display order: the way through the state machine, then the ends that need a look. */
export const STATE_ORDER = ['pending', 'committed', 'audit_submitted', 'delayed', 'approved', 'released', 'rejected', 'failed', 'withdrawn', 'reverted'] as const;

const SHORT: Record<string, string> = { audit_submitted: 'auditing' };

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** Non-zero states in display order, e.g. `released 90 · auditing 10 · failed 4`. */
export function formatCounts(counts: Record<string, number>): string {
  const known = STATE_ORDER.filter((s) => (counts[s] ?? 0) > 0).map((s) => `${SHORT[s] ?? s} ${counts[s]}`);
  const other = Object.entries(counts)
    .filter(([s, n]) => n > 0 && !(STATE_ORDER as readonly string[]).includes(s))
    .map(([s, n]) => `${s} ${n}`);
  return [...known, ...other].join(' · ') || 'no targets';
}

function rateAndEta(p: ProgressSnapshot): string {
  const rate = p.ratePerSecond > 0 ? `${p.ratePerSecond >= 10 ? p.ratePerSecond.toFixed(0) : p.ratePerSecond.toFixed(1)}/s` : '–/s';
  const eta = p.settled >= p.total ? 'done' : p.job.status === 'paused' ? 'paused' : p.etaMs === null ? 'ETA –' : `ETA ${formatDuration(p.etaMs)}`;
  return `${rate} · ${eta}`;
}

/** One line for a terminal, redrawn in place: a bar, counts per state, rate and ETA, cut to `columns`. */
export function progressBar(p: ProgressSnapshot, columns = 100): string {
  const fraction = p.total === 0 ? 1 : p.settled / p.total;
  const width = Math.max(10, Math.min(30, columns - 70));
  const filled = Math.round(fraction * width);
  const bar = `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
  const pct = `${String(Math.floor(fraction * 100)).padStart(3)}%`;
  const line = `${bar} ${pct} ${p.settled}/${p.total}  ${formatCounts(p.counts)}  ${rateAndEta(p)}`;
  // Wider than the terminal would wrap and break the in-place redraw.
  return [...line].length > columns ? `${[...line].slice(0, columns - 1).join('')}…` : line;
}

/** One self-contained line for logs and pipes (no control characters). */
export function progressLine(p: ProgressSnapshot): string {
  const pct = p.total === 0 ? 100 : Math.floor((p.settled / p.total) * 100);
  const paused = p.job.status === 'paused' && p.job.pause ? ` (${p.job.pause.message})` : '';
  return `${p.job.id} ${p.job.status}${paused}: ${p.settled}/${p.total} settled (${pct}%) · ${formatCounts(p.counts)} · ${rateAndEta(p)}`;
}
