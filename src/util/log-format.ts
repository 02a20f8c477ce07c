export type LogFormat = 'pretty' | 'json';

/** Values of `WXOPEN_LOG_FORMAT`; `auto` (or unset) decides from the terminal and NODE_ENV. */
export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;

/**
 * Readable lines for a person at a terminal, JSON for everything else: production (NODE_ENV=production)
 * and any pipe or file, where a log collector parses the lines. `WXOPEN_LOG_FORMAT=pretty|json` overrides.
 */
export function chooseLogFormat(isTTY: boolean, env: Readonly<Record<string, string | undefined>>): LogFormat {
  const forced = env.WXOPEN_LOG_FORMAT?.trim().toLowerCase();
  if (forced === 'pretty' || forced === 'json') return forced;
  if (env.NODE_ENV === 'production') return 'json';
  return isTTY ? 'pretty' : 'json';
}

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '90' },
  20: { name: 'DEBUG', color: '36' },
  30: { name: 'INFO', color: '32' },
  40: { name: 'WARN', color: '33' },
  50: { name: 'ERROR', color: '31' },
  60: { name: 'FATAL', color: '35' },
};
/** pino's own bookkeeping, shown elsewhere in the line or not worth a person's attention. */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

export interface PrettyOptions {
  color: boolean;
}

/**
 * One pino JSON line as `12:03:04.567 INFO  wxopen: message key=value …`, an error's stack indented below.
 * A line that is not pino JSON is returned as it came.
 */
export function formatLogLine(line: string, options: PrettyOptions): string {
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return line.endsWith('\n') ? line : `${line}\n`;
    entry = parsed as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const paint = (code: string, text: string) => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const level = LEVELS[Number(entry.level)] ?? { name: String(entry.level ?? 'LOG').toUpperCase(), color: '0' };
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const name = typeof entry.name === 'string' ? `${entry.name}: ` : '';
  const msg = typeof entry.msg === 'string' ? entry.msg : '';
  const fields: string[] = [];
  let stack = '';
  for (const [key, value] of Object.entries(entry)) {
    if (HIDDEN.has(key) || value === undefined) continue;
    if (isError(value)) {
      fields.push(`${key}=${quote(`${value.type ?? 'Error'}: ${value.message ?? ''}`)}`);
      if (typeof value.stack === 'string') stack += `${value.stack.split('\n').slice(1).map((l) => `    ${l.trim()}`).join('\n')}\n`;
      continue;
    }
    fields.push(`${key}=${typeof value === 'string' ? quote(value) : JSON.stringify(value)}`);
  }
  const head = `${paint('90', time)} ${paint(level.color, level.name.padEnd(5))} ${paint('90', name)}${msg}`;
  const rest = fields.length > 0 ? ` ${paint('90', fields.join(' '))}` : '';
  return `${head}${rest}\n${stack && paint('90', stack)}`;
}

function isError(v: unknown): v is { type?: string; message?: string; stack?: string } {
  return typeof v === 'object' && v !== null && typeof (v as { message?: unknown }).message === 'string' && typeof (v as { stack?: unknown }).stack === 'string';
}

/** Bare when it is one plain word, JSON-quoted otherwise, so a line stays one line and splits unambiguously. */
function quote(s: string): string {
  return /^[\w.:/@+[\]-]+$/.test(s) ? s : JSON.stringify(s);
}

/**
 * A pino destination that prints readable lines. Hand-written rather than pino-pretty: it is forty lines for a
 * terminal only (production keeps pino's JSON), and pino-pretty would add a dependency tree (and a worker
 * thread transport) to every install for a development nicety.
 */
export function prettyDestination(out: { write(chunk: string): unknown }, options: PrettyOptions): { write(line: string): void } {
  return {
    write(chunk: string) {
      // pino writes one line per call; split anyway in case a caller batches.
      for (const line of chunk.split('\n')) if (line !== '') out.write(formatLogLine(line, options));
    },
  };
}
