import { z } from 'zod';
import { UpstreamError, WeChatApiError, WxOpenError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { BinaryAnswer, QueryValue, WeChatHttp, WeChatRequest } from './http.js';
import { RateLimitedError, type RateLimiter } from './rate-limit.js';

/** One WeChat call as an API group describes it; the token is added by the caller. */
export interface ApiCall extends Omit<WeChatRequest, 'answer' | 'idempotent'> {
  /**
   * Safe to repeat: -1 and 5xx are retried with backoff. Default: GET only. State-changing POSTs are
   * never repeated (spec 8: commit, submit_audit, release… only after checking state).
   */
  idempotent?: boolean;
  /** Overrides the provider's token parameter (spec 3.0: `access_token` for /wxa/*template*, clear_quota, quota/get). */
  tokenParam?: 'access_token' | 'component_access_token';
  /** The account the call is about when it is not the token's (component calls for one mini program): its rate-limit bucket and log field. */
  subject?: string;
  /** The token is not ours to refresh (a user's OAuth access_token): surface token errors as they are. */
  noTokenRefresh?: boolean;
}

/** A token and how to drop it once WeChat says it is invalid. */
export interface TokenLease {
  value: string;
  invalidate(): Promise<void>;
}

export interface TokenProvider {
  /** The account the token acts for: rate-limit bucket and log field. */
  subject: string;
  /** Query parameter the token goes in (spec 3.0). */
  param: 'access_token' | 'component_access_token';
  current(): Promise<TokenLease>;
}

export interface ApiCallerDeps {
  http: WeChatHttp;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  limiter?: RateLimiter;
  /** Extra attempts of an idempotent call after an upstream failure (5xx, network); default 2. */
  upstreamRetries?: number;
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** WeChat answered errcode 0 with a body that does not match the documented shape. */
export class ApiResponseError extends WxOpenError {
  readonly code = 'WXO_ERR_API_RESPONSE';
  override readonly statusCode = 502;
  constructor(
    readonly path: string,
    readonly issues: string,
  ) {
    super(`${path} answered an unexpected shape: ${issues}`);
  }
}

/** `{errcode:0, errmsg:"ok"}` and nothing else of interest. */
export const OkAnswer = z.looseObject({ errcode: z.number().optional(), errmsg: z.string().optional() });
export type OkAnswer = z.infer<typeof OkAnswer>;

/**
 * Runs calls for one token source: rate limit, token injection, one refresh on a token error
 * (40001/40014/42001: never on 61007/48001/45009), bounded backoff for idempotent calls, zod validation
 * of the answer, a metric and a debug line without the token.
 */
export class ApiCaller {
  constructor(
    private readonly deps: ApiCallerDeps,
    private readonly token: TokenProvider,
  ) {}

  get subject(): string {
    return this.token.subject;
  }

  async call<S extends z.ZodType>(req: ApiCall, schema: S): Promise<z.output<S>> {
    const data = await this.run(req);
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new ApiResponseError(req.path, issues);
    }
    return parsed.data;
  }

  /** get_qrcode and friends: the image bytes (WeChat answers JSON only on error). */
  async binary(req: ApiCall): Promise<BinaryAnswer> {
    const data = await this.run({ ...req, binary: true });
    if (!Buffer.isBuffer((data as BinaryAnswer).data)) throw new ApiResponseError(req.path, 'expected an image, got JSON without errcode');
    return data as BinaryAnswer;
  }

  private async run(req: ApiCall): Promise<unknown> {
    const { deps } = this;
    // Stryker disable next-line Regex: every path starts with '/' (the URL is base + path), so dropping the first '/' anywhere drops the same one
    const api = req.path.replace(/^\//, '');
    const subject = req.subject ?? this.token.subject;
    const started = performance.now();
    let outcome = 'ok';
    try {
      await deps.limiter?.acquire(api, subject);
      return await this.attempt(req);
    } catch (err) {
      outcome =
        err instanceof WeChatApiError ? String(err.errcode) : err instanceof RateLimitedError ? 'rate_limited' : err instanceof UpstreamError ? 'upstream_error' : 'error';
      throw err;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      deps.metrics.apiCalls.inc({ api, outcome });
      deps.metrics.apiCallDuration.observe({ api }, seconds);
      deps.logger.debug({ api, appid: subject, outcome, ms: Math.round(seconds * 1000) }, 'WeChat API call');
    }
  }

  private async attempt(req: ApiCall): Promise<unknown> {
    const idempotent = req.idempotent ?? req.method === 'GET';
    const retries = idempotent ? (this.deps.upstreamRetries ?? 2) : 0;
    const sleep = this.deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let backoff = this.deps.backoffMs ?? 1000;
    let refreshed = false;
    for (let failures = 0; ; ) {
      const token = await this.token.current();
      const { tokenParam, noTokenRefresh, subject: _subject, ...request } = req;
      try {
        return await this.deps.http.request({ ...request, idempotent, query: { ...req.query, [tokenParam ?? this.token.param]: token.value } });
      } catch (err) {
        if (err instanceof WeChatApiError && err.kind === 'token' && !refreshed && !noTokenRefresh) {
          refreshed = true;
          await token.invalidate();
          continue;
        }
        if (err instanceof UpstreamError && failures < retries) {
          failures += 1;
          this.deps.logger.warn({ api: req.path, attempt: failures, backoffMs: backoff }, 'WeChat upstream failed, retrying');
          await sleep(backoff);
          backoff *= 2;
          continue;
        }
        throw err;
      }
    }
  }
}
