import type { PushFailure } from '../push/verify-push.js';
import type { AppContext } from './context.js';

export type RefusalReason = PushFailure | 'bad_event' | 'unsupported_media_type';
export type PushUrl = 'component' | 'authorizer';

/** What a push handler answers, independent of the HTTP layer that writes it. */
export interface PushAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** The client's address, resolved only when a refusal is logged (reading headers costs on the hot path). */
export type ClientIp = () => string | undefined;

export const SUCCESS: PushAnswer = { status: 200, contentType: 'text/plain; charset=utf-8', body: 'success' };

export function statusForPushFailure(reason: PushFailure): number {
  switch (reason) {
    case 'bad_signature':
    case 'stale':
    case 'appid_mismatch':
      return 401;
    case 'xml_too_large':
      return 413;
    default:
      return 400;
  }
}

type Counter = AppContext['metrics']['pushes'];
type CounterChild = ReturnType<Counter['labels']>;
// Labelled children resolved once per (url, reason): prom-client otherwise hashes the labels per call,
// and a flood of forged pushes is exactly when refusals must be cheap.
const refusalCounters = new WeakMap<Counter, Record<PushUrl, Map<RefusalReason, CounterChild>>>();

function refusalCounter(counter: Counter, url: PushUrl, reason: RefusalReason): CounterChild {
  let byUrl = refusalCounters.get(counter);
  if (!byUrl) refusalCounters.set(counter, (byUrl = { component: new Map(), authorizer: new Map() }));
  let child = byUrl[url].get(reason);
  if (!child) byUrl[url].set(reason, (child = counter.labels({ url, type: 'unknown', outcome: reason })));
  return child;
}

/** One place that turns a refused push into its status, JSON body, log line and metric. */
export function refusePush(ctx: AppContext, url: PushUrl, reason: RefusalReason, detail: string, status: number, ip: ClientIp): PushAnswer {
  refusalCounter(ctx.metrics.pushes, url, reason).inc();
  // Rate-limited per reason: a flood of junk must not become a flood of log lines (log-limiter.ts);
  // the fields (the client address reads the headers) are built only for a line that is written.
  ctx.refusals.warn(reason, () => ({ push: url, reason, status, detail, ip: ip() }), 'push refused');
  return { status, contentType: 'application/json; charset=utf-8', body: refusalBody(reason, detail) };
}

// Refusal bodies by reason and detail: a flood of forged pushes repeats a few details (a stale timestamp's
// names its skew, so each reason keeps at most MAX_DETAILS and serializes the rest per call).
const MAX_DETAILS = 64;
const bodies = new Map<RefusalReason, Map<string, string>>();

export function refusalBody(reason: RefusalReason, detail: string): string {
  let byDetail = bodies.get(reason);
  if (!byDetail) bodies.set(reason, (byDetail = new Map()));
  let body = byDetail.get(detail);
  if (body === undefined) {
    body = JSON.stringify({ error: `WXO_ERR_PUSH_${reason.toUpperCase()}`, reason, message: detail });
    if (byDetail.size < MAX_DETAILS) byDetail.set(detail, body);
  }
  return body;
}
