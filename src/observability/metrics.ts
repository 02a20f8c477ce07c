import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per app instance, so several apps (tests, platform + sandbox) never share counters. */
export interface Metrics {
  registry: Registry;
  pushes: Counter<'url' | 'type' | 'outcome'>;
  pushDuration: Histogram<'url'>;
  tokenRefreshes: Counter<'kind' | 'outcome'>;
  upstream: Counter<'path' | 'outcome'>;
  reauthorizationRequired: Counter<'errcode'>;
  connectionErrors: Counter<'source'>;
  leasesLost: Counter<'kind'>;
  codeExchanges: Counter<'outcome'>;
  storeWriteFailures: Counter<'what'>;
  apiCalls: Counter<'api' | 'outcome'>;
  apiCallDuration: Histogram<'api'>;
  fleetTransitions: Counter<'from' | 'to'>;
  fleetSteps: Counter<'step' | 'outcome'>;
  fleetPauses: Counter<'code'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'wxopen_' });
  return {
    registry,
    pushes: new Counter({
      name: 'wxopen_pushes_total',
      help: 'Pushes received from WeChat, by URL, InfoType/MsgType and outcome (stored, duplicate or a refusal reason)',
      labelNames: ['url', 'type', 'outcome'],
      registers: [registry],
    }),
    pushDuration: new Histogram({
      name: 'wxopen_push_duration_seconds',
      help: 'Time from receiving a push to answering it',
      labelNames: ['url'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    tokenRefreshes: new Counter({
      name: 'wxopen_token_refreshes_total',
      help: 'Token refreshes that called WeChat, by kind (component, authorizer) and outcome',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    }),
    upstream: new Counter({
      name: 'wxopen_upstream_requests_total',
      help: 'HTTP attempts to the WeChat API, by path and outcome (ok, network_error, http_5xx)',
      labelNames: ['path', 'outcome'],
      registers: [registry],
    }),
    reauthorizationRequired: new Counter({
      name: 'wxopen_reauthorization_required_total',
      help: 'Authorizers flagged needs_reauthorization, by the errcode that showed it',
      labelNames: ['errcode'],
      registers: [registry],
    }),
    connectionErrors: new Counter({
      name: 'wxopen_connection_errors_total',
      help: 'Database connections that failed outside a query (dropped, terminated), by source (store, lock); the process stays up',
      labelNames: ['source'],
      registers: [registry],
    }),
    leasesLost: new Counter({
      name: 'wxopen_lock_leases_lost_total',
      help: 'Refresh leases lost while the holder worked (session died or renewal failed), by token kind',
      labelNames: ['kind'],
      registers: [registry],
    }),
    codeExchanges: new Counter({
      name: 'wxopen_code_exchanges_total',
      help: 'Authorization-code exchange attempts (api_query_auth), by outcome (done, retry, failed, stale)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    storeWriteFailures: new Counter({
      name: 'wxopen_store_write_failures_total',
      help: 'Credential writes the store refused; the credential is kept in memory and written later',
      labelNames: ['what'],
      registers: [registry],
    }),
    apiCalls: new Counter({
      name: 'wxopen_api_calls_total',
      help: 'Typed WeChat API calls, by API path and outcome (ok, the errcode, rate_limited, upstream_error)',
      labelNames: ['api', 'outcome'],
      registers: [registry],
    }),
    apiCallDuration: new Histogram({
      name: 'wxopen_api_call_duration_seconds',
      help: 'Duration of typed WeChat API calls including token, rate-limit waits and retries',
      labelNames: ['api'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    fleetTransitions: new Counter({
      name: 'wxopen_fleet_transitions_total',
      help: 'Deploy-job merchant state transitions',
      labelNames: ['from', 'to'],
      registers: [registry],
    }),
    fleetSteps: new Counter({
      name: 'wxopen_fleet_steps_total',
      help: 'Deploy-job steps run, by step and outcome (ok, reconciled, failed, retry, paused)',
      labelNames: ['step', 'outcome'],
      registers: [registry],
    }),
    fleetPauses: new Counter({
      name: 'wxopen_fleet_pauses_total',
      help: 'Deploy jobs paused, by reason (audit_quota, rate_limited, api_quota)',
      labelNames: ['code'],
      registers: [registry],
    }),
  };
}
