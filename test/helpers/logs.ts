import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/util/logger.js';

/** A logger whose lines land, parsed, in `lines`. */
export function captureLogger(level = 'debug'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ level: level as 'debug', destination }), lines };
}
