import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  /** Status of the first response line, or undefined when the socket closed without one. */
  status: number | undefined;
  /** True when no answer came within the deadline. */
  hung: boolean;
  raw: string;
}

/**
 * Writes raw bytes on a fresh socket (requests fetch refuses to send: lying lengths, broken escapes,
 * bad chunking) and reads until the first response's status line arrives, the server closes, or
 * `timeoutMs` passes (a hang).
 */
export function rawRequest(port: number, bytes: string | Buffer | (string | Buffer)[], timeoutMs = 5000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let raw = '';
    let done = false;
    const finish = (hung: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
      resolve({ status: m ? Number(m[1]) : undefined, hung, raw });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    socket.on('data', (d) => {
      raw += d.toString('latin1');
      if (/\r\n\r\n/.test(raw)) finish(false);
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    socket.on('connect', () => {
      for (const b of Array.isArray(bytes) ? bytes : [bytes]) socket.write(b);
    });
  });
}

/** A socket that sends `text` one byte every `everyMs` (a slow loris); `stop()` ends it. */
export function slowClient(port: number, text: string, everyMs: number): { socket: Socket; closed: Promise<void>; stop(): void } {
  const socket = connect(port, '127.0.0.1');
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  socket.on('connect', () => {
    timer = setInterval(() => {
      if (i < text.length && socket.writable) socket.write(text[i++]!);
    }, everyMs);
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  void closed.then(() => clearInterval(timer));
  return {
    socket,
    closed,
    stop() {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

/** Deterministic PRNG (mulberry32): the same seed gives the same fuzz cases on every run. */
export function prng(seed: number): { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)]! };
}
