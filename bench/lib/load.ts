import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * A small closed-loop HTTP/1.1 keep-alive load generator over raw sockets: `connections` sockets, each
 * with exactly one request in flight. Requests are pre-serialized bytes, so the client spends almost
 * no CPU per request (node:http's client would cost about as much as a minimal server does).
 * Only 127.0.0.1 is ever contacted.
 */
export interface LoadOptions {
  port: number;
  connections: number;
  warmupMs: number;
  measureMs: number;
  /** The next complete request (head and body); must never repeat a push. */
  next: () => Buffer;
  /** Called once when the measured window opens / closes (e.g. to snapshot the server's CPU time). */
  onMeasureStart?: () => void;
  onMeasureEnd?: () => void;
  /** Whether an answer's body is the expected one; default: exactly `success`. */
  okBody?: (body: string) => boolean;
  /** The expected status (default 200; a forged push is refused 401). */
  okStatus?: number;
}

export interface LoadResult {
  /** Requests sent and answered inside the measured window. */
  requests: number;
  measureMs: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers whose status was not the expected one, during warm-up and during the measured window. */
  non200Warmup: number;
  non200: number;
  /** Answers of the expected status whose body was not the expected one (`success`, or `okBody`). */
  badBody: number;
  /** Socket errors and connections the server closed with a request in flight. */
  socketErrors: number;
  /** One example of an unexpected answer, for diagnosis. */
  sample?: string;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const CONNECTION_CLOSE = /\r\nconnection:[ \t]*close/i;

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { port, connections, warmupMs, measureMs, next } = options;
  const okBody = options.okBody ?? ((body: string) => body === 'success');
  const okStatus = options.okStatus ?? 200;
  const latencies: number[] = [];
  let non200Warmup = 0;
  let non200 = 0;
  let badBody = 0;
  let socketErrors = 0;
  let sample: string | undefined;
  const t0 = performance.now();
  const measureStart = t0 + warmupMs;
  const measureEnd = measureStart + measureMs;

  const startTimer = setTimeout(() => options.onMeasureStart?.(), warmupMs);
  const endTimer = setTimeout(() => options.onMeasureEnd?.(), warmupMs + measureMs);

  return new Promise((resolve, reject) => {
    let open = 0;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(startTimer);
      clearTimeout(endTimer);
      clearTimeout(guard);
      const sorted = Float64Array.from(latencies).sort();
      const pct = (p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!);
      resolve({
        requests: latencies.length,
        measureMs,
        rps: (latencies.length * 1000) / measureMs,
        p50Ms: pct(0.5),
        p99Ms: pct(0.99),
        non200Warmup,
        non200,
        badBody,
        socketErrors,
        sample,
      });
    };
    // If the server hangs, give up shortly after the window instead of waiting forever.
    const guard = setTimeout(() => {
      socketErrors += open;
      finish();
    }, warmupMs + measureMs + 10_000);

    const openConnection = (): void => {
      open++;
      const socket: Socket = connect({ host: '127.0.0.1', port });
      socket.setNoDelay(true);
      let pending: Buffer | null = null;
      let sentAt = 0;
      let inFlight = false;
      let closing = false;

      const send = (): void => {
        const now = performance.now();
        if (now >= measureEnd) {
          closing = true;
          socket.end();
          return;
        }
        sentAt = now;
        inFlight = true;
        socket.write(next());
      };

      socket.on('connect', send);
      socket.on('data', (chunk: Buffer) => {
        pending = pending === null ? chunk : Buffer.concat([pending, chunk]);
        for (;;) {
          const buf: Buffer = pending;
          const headEnd = buf.indexOf(HEAD_END);
          if (headEnd < 0) return;
          const head = buf.toString('latin1', 0, headEnd);
          const length = CONTENT_LENGTH.exec(head);
          if (!length) {
            socket.destroy();
            reject(new Error(`response without Content-Length (chunked bodies are not supported): ${head}`));
            return;
          }
          const end = headEnd + 4 + Number(length[1]);
          if (buf.length < end) return;
          const now = performance.now();
          const status = Number(head.slice(9, 12));
          const body = buf.toString('latin1', headEnd + 4, end);
          pending = end === buf.length ? null : buf.subarray(end);
          inFlight = false;
          const measured = sentAt >= measureStart && now <= measureEnd;
          if (status !== okStatus || !okBody(body)) {
            sample ??= `${head.split('\r\n')[0]} ${body.slice(0, 300)}`;
            if (status !== okStatus) {
              if (sentAt < measureStart) non200Warmup++;
              else non200++;
            } else badBody++;
          }
          if (measured) latencies.push(now - sentAt);
          if (CONNECTION_CLOSE.test(head)) return; // the server closes it; 'close' reconnects
          send();
          if (pending === null) return;
        }
      });
      socket.on('error', () => {
        socketErrors++;
      });
      socket.on('close', () => {
        open--;
        if (inFlight) socketErrors++;
        if (!closing && performance.now() < measureEnd) openConnection();
        else if (open === 0) finish();
      });
    };

    for (let i = 0; i < connections; i++) openConnection();
  });
}
