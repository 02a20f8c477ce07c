import { EventEmitter } from 'node:events';

export interface PlatformEventMap {
  'authorizer.authorized': [{ authorizerAppid: string; funcInfo: number[]; source: 'callback' | 'push' }];
  'authorizer.unauthorized': [{ authorizerAppid: string }];
  'authorizer.needs_reauthorization': [{ authorizerAppid: string; errcode: number; errmsg: string }];
  'authorizer.refresh_token_recovered': [{ authorizerAppid: string; source: 'list' | 'log' }];
  /** An authorization code could not be exchanged within its life: the merchant is authorized at WeChat but not stored. */
  'authorizer.exchange_failed': [{ authorizerAppid: string | null; attempts: number; error: string }];
  'token.refreshed': [{ kind: 'component' | 'authorizer'; appid: string; expiresAt: number }];
}

/** Typed platform events (credentials and authorizer lifecycle) for dashboards, alerts and user code. */
export class PlatformEvents extends EventEmitter<PlatformEventMap> {}
