import { PUSH_BASE_PATH, type PushEndpoint } from '../server/push-endpoint.js';

/** What an adapter serves: anything holding the push endpoint (`createWxOpen()`'s `wx`, `buildApp()`'s result). */
export interface PushHost {
  push: PushEndpoint;
}

/** Options every adapter takes. */
export interface AdapterOptions {
  /**
   * The path the push URLs hang under (default `/wechat`: `/wechat/component` and
   * `/wechat/authorizer/:appid`, as the server serves them). It is matched against the full path
   * (Express's `originalUrl`), so a router mounted at `/api` needs `basePath: '/api/wechat'`.
   */
  basePath?: string;
}

/** A host or a promise of one (`createWxOpen()` is async): requests wait for it. */
export type PushHostInput = PushHost | PromiseLike<PushHost>;

export function basePathOf(options: AdapterOptions): string {
  const base = options.basePath ?? PUSH_BASE_PATH;
  return base.endsWith('/') ? base.slice(0, -1) : base;
}

/** The endpoint, at once when the host is there, else when its promise settles (once). */
export function endpointOf(input: PushHostInput): () => PushEndpoint | Promise<PushEndpoint> {
  if ('push' in input) return () => input.push;
  let ready: Promise<PushEndpoint> | undefined;
  let endpoint: PushEndpoint | undefined;
  return () => {
    if (endpoint) return endpoint;
    ready ??= Promise.resolve(input).then((h) => (endpoint = h.push));
    return ready;
  };
}
