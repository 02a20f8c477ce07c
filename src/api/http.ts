import type { z } from 'zod';
import { UpstreamError, UpstreamInvalidError, WeChatApiError } from '../errors.js';
import { parseAnswer } from './answers.js';
import type { Logger } from '../util/logger.js';

export type QueryValue = string | number | boolean | undefined;

export interface WeChatRequest {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, QueryValue>;
  /** JSON body; `{}` is sent as `{}` (release needs it: an empty body is 44002). */
  body?: unknown;
  /** Safe to repeat: retried on -1 and failed over on any network error or 5xx. Default: GET only. */
  idempotent?: boolean;
  /** Accept a non-JSON (image) answer, as get_qrcode returns. */
  binary?: boolean;
  /** Schema of a successful answer (api/answers.ts): garbage becomes UpstreamInvalidError. */
  answer?: z.ZodType;
}

export interface WeChatHttpOptions {
  /** Primary API base first, then failover hosts (spec 9.1: api2.weixin.qq.com). */
  bases: readonly string[];
  timeoutMs?: number;
  /** Retries of an idempotent call answered -1 (system busy), with doubling backoff. */
  busyRetries?: number;
  busyBackoffMs?: number;
  logger?: Logger;
  fetch?: typeof fetch;
  /** Called once per upstream attempt, for metrics. */
  onAttempt?: (path: string, outcome: string) => void;
}

export interface BinaryAnswer {
  contentType: string;
  data: Buffer;
}

// Connection never established: the request cannot have reached WeChat, so any call may fail over.
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * The transport: JSON in and out, `errcode` mapped to `WeChatApiError` (coerced with Number(), a
 * missing errcode is 0), busy retries and host failover. Token handling lives a layer up.
 */
export class WeChatHttp {
  private readonly fetch: typeof fetch;
  constructor(private readonly o: WeChatHttpOptions) {
    if (o.bases.length === 0) throw new TypeError('[wxopen] at least one API base URL is required');
    this.fetch = o.fetch ?? globalThis.fetch;
  }

  request<S extends z.ZodType>(req: WeChatRequest & { answer: S }): Promise<z.output<S>>;
  request<T = Record<string, unknown>>(req: WeChatRequest): Promise<T>;
  async request<T>(req: WeChatRequest): Promise<T> {
    const idempotent = req.idempotent ?? req.method === 'GET';
    const retries = idempotent ? (this.o.busyRetries ?? 3) : 0;
    let backoff = this.o.busyBackoffMs ?? 1000;
    for (let attempt = 0; ; attempt++) {
      const data = await this.send(req, idempotent);
      if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new UpstreamInvalidError(req.path, '', 'not a JSON object');
      if (Buffer.isBuffer((data as BinaryAnswer).data)) return data as T;
      const errcode = Number((data as { errcode?: unknown }).errcode ?? 0);
      if (errcode === 0 || Number.isNaN(errcode)) return (req.answer ? parseAnswer(req.answer, data, req.path) : data) as T;
      const errmsg = String((data as { errmsg?: unknown }).errmsg ?? '');
      if (errcode === -1 && attempt < retries) {
        this.o.logger?.warn({ path: req.path, attempt, backoffMs: backoff }, 'WeChat busy (-1), retrying');
        await new Promise((r) => setTimeout(r, backoff));
        backoff *= 2;
        continue;
      }
      throw new WeChatApiError(errcode, errmsg, req.path);
    }
  }

  private async send(req: WeChatRequest, idempotent: boolean): Promise<unknown> {
    let lastError: unknown;
    for (const [i, base] of this.o.bases.entries()) {
      const url = new URL(base + req.path);
      for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
      let res: Response;
      try {
        res = await this.fetch(url, {
          method: req.method,
          headers: req.body === undefined ? {} : { 'content-type': 'application/json' },
          // Stryker disable next-line ConditionalExpression: JSON.stringify(undefined) is undefined too; the test only spares the call
          body: req.body === undefined ? undefined : JSON.stringify(req.body),
          signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
        });
      } catch (err) {
        lastError = err;
        const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as { name?: string }).name;
        this.o.onAttempt?.(req.path, 'network_error');
        const more = i < this.o.bases.length - 1;
        // Stryker disable next-line ConditionalExpression: CONNECT_ERRORS.has(undefined) is false, so the undefined check only narrows the type
        if (more && (idempotent || (code !== undefined && CONNECT_ERRORS.has(code)))) {
          this.o.logger?.warn({ path: req.path, base, code, next: this.o.bases[i + 1] }, 'WeChat host unreachable, failing over');
          continue;
        }
        throw new UpstreamError(`${req.path}: ${code ?? 'network error'} on ${base}`, { cause: err, host: base });
      }
      if (res.status >= 500) {
        this.o.onAttempt?.(req.path, `http_${res.status}`);
        await res.arrayBuffer().catch(() => undefined);
        lastError = new UpstreamError(`${req.path}: HTTP ${res.status} from ${base}`, { host: base });
        if (idempotent && i < this.o.bases.length - 1) {
          this.o.logger?.warn({ path: req.path, base, status: res.status, next: this.o.bases[i + 1] }, 'WeChat host failed, failing over');
          continue;
        }
        throw lastError;
      }
      this.o.onAttempt?.(req.path, 'ok');
      const contentType = res.headers.get('content-type') ?? '';
      const buf = Buffer.from(await res.arrayBuffer());
      if (req.binary && !contentType.includes('json') && !contentType.startsWith('text/')) return { contentType, data: buf } satisfies BinaryAnswer;
      try {
        return JSON.parse(buf.toString('utf8')) as unknown;
      } catch {
        throw new UpstreamError(`${req.path}: HTTP ${res.status} with a body that is not JSON`, { host: base });
      }
    }
    // Stryker disable next-line all: unreachable: on the last base every path of the loop returns or throws (bases is never empty)
    throw lastError instanceof UpstreamError ? lastError : new UpstreamError(`${req.path}: no API host answered`, { cause: lastError });
  }
}
