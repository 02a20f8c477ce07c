import { randomBytes } from 'node:crypto';
import { jsapiSignature } from '../crypto/jssdk.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { WxOpenError } from '../errors.js';
import { coordinate } from '../lock/coordinate.js';
import type { LockBackend } from '../lock/types.js';
import type { Store } from '../store/types.js';
import type { Clock } from '../util/clock.js';

/** The URL is not on the authorizer's JS-SDK domains: refusing keeps the endpoint from being a signing oracle. */
export class JssdkDomainError extends WxOpenError {
  readonly code = 'WXO_ERR_JSSDK_DOMAIN';
  override readonly statusCode = 403;
  constructor(
    readonly authorizerAppid: string,
    readonly url: string,
    why: string,
  ) {
    super(`refusing to sign ${url} for ${authorizerAppid}: ${why}`);
  }
}

export interface JssdkConfig {
  /** The authorizer's appid: wx.config uses it, not the component's (spec 6.3). */
  appId: string;
  timestamp: number;
  nonceStr: string;
  signature: string;
}

export interface JssdkOptions {
  componentAppid: string;
  store: Store;
  box: SecretBox;
  clock: Clock;
  lock: LockBackend;
  /** Calls getticket with the authorizer's token. */
  fetchTicket(appid: string): Promise<{ ticket: string; expires_in: number }>;
  /** Domains per authorizer given in code, used when the store has none for it. */
  domains?: Readonly<Record<string, readonly string[]>>;
  refreshAheadMs?: number;
  lockLeaseMs?: number;
  lockMaxWaitMs?: number;
  lockPollMs?: number;
}

interface Ticket {
  ticket: string;
  expiresAt: number;
  obtainedAt: number;
}

const DOMAIN = /^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?$/;

/** A configured domain: `shop.example.com` (that host), `*.example.com` (its sub-domains), optional port. */
export function normalizeDomain(domain: string): string {
  const d = domain.trim().toLowerCase();
  if (!DOMAIN.test(d)) throw new TypeError(`[wxopen] "${domain}" is not a domain such as shop.example.com or *.example.com (no scheme, no path)`);
  return d;
}

function hostAllowed(host: string, hostname: string, domains: readonly string[]): boolean {
  return domains.some((d) => (d.startsWith('*.') ? hostname.endsWith(d.slice(1)) || host.endsWith(d.slice(1)) : d === host || d === hostname));
}

/**
 * jsapi_ticket per authorizer, sealed in the store and refreshed by one caller across instances
 * (the same `coordinate()` as the tokens), and `wx.config` signatures for pages on the authorizer's
 * configured JS-SDK domains only.
 */
export class JsSdk {
  private readonly memory = new Map<string, Ticket>();
  constructor(private readonly o: JssdkOptions) {}

  private aad(appid: string): string {
    return `${this.o.componentAppid}:${appid}:jsapi`;
  }

  async setDomains(appid: string, domains: readonly string[]): Promise<string[]> {
    const list = [...new Set(domains.map(normalizeDomain))];
    await this.o.store.setJssdkDomains(this.o.componentAppid, appid, list, this.o.clock.now());
    return list;
  }

  async domains(appid: string): Promise<string[]> {
    const stored = await this.o.store.getJssdkDomains(this.o.componentAppid, appid);
    return stored.length > 0 ? stored : (this.o.domains?.[appid] ?? []).map(normalizeDomain);
  }

  /** The current jsapi_ticket (fetching it once across instances when missing or near expiry). */
  async ticket(appid: string): Promise<string> {
    return (await this.ticketInfo(appid)).ticket;
  }

  /** The current jsapi_ticket with its expiry (the token service serves it). */
  async ticketInfo(appid: string): Promise<Ticket> {
    const margin = this.o.refreshAheadMs ?? 5 * 60_000;
    const cached = this.memory.get(appid);
    if (cached && cached.expiresAt - margin > this.o.clock.now()) return cached;
    const t = await coordinate<Ticket>({
      lock: this.o.lock,
      key: `jsapi:${this.o.componentAppid}:${appid}`,
      current: async () => {
        const r = await this.o.store.getJsapiTicket(this.o.componentAppid, appid);
        if (!r || r.expiresAt - margin <= this.o.clock.now()) return undefined;
        return { ticket: this.o.box.open(r.ticketEnc, this.aad(appid)), expiresAt: r.expiresAt, obtainedAt: r.obtainedAt };
      },
      refresh: async () => {
        const answer = await this.o.fetchTicket(appid);
        const obtainedAt = this.o.clock.now();
        const t = { ticket: answer.ticket, expiresAt: obtainedAt + answer.expires_in * 1000, obtainedAt };
        await this.o.store.saveJsapiTicket({
          componentAppid: this.o.componentAppid,
          authorizerAppid: appid,
          ticketEnc: this.o.box.seal(t.ticket, this.aad(appid)),
          expiresAt: t.expiresAt,
          obtainedAt,
        });
        return t;
      },
      leaseMs: this.o.lockLeaseMs ?? 30_000,
      maxWaitMs: this.o.lockMaxWaitMs ?? 20_000,
      pollMs: this.o.lockPollMs ?? 50,
    });
    this.memory.set(appid, t);
    return t;
  }

  /** Drops the ticket (only if it is still the one obtained at `obtainedAt`, when given). */
  async invalidate(appid: string): Promise<void> {
    const t = this.memory.get(appid);
    this.memory.delete(appid);
    const r = await this.o.store.getJsapiTicket(this.o.componentAppid, appid);
    if (r && (!t || r.obtainedAt === t.obtainedAt)) await this.o.store.invalidateJsapiTicket(this.o.componentAppid, appid, r.obtainedAt);
  }

  /** `{appId, timestamp, nonceStr, signature}` for wx.config on `url` (its #fragment dropped). */
  async sign(appid: string, url: string, options: { nonceStr?: string; timestamp?: number } = {}): Promise<JssdkConfig> {
    const page = url.split('#')[0]!;
    let parsed: URL;
    try {
      parsed = new URL(page);
    } catch {
      throw new JssdkDomainError(appid, url, 'not an absolute URL');
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new JssdkDomainError(appid, url, 'only http(s) pages use the JS-SDK');
    if (parsed.username || parsed.password) throw new JssdkDomainError(appid, url, 'URLs with credentials are refused');
    const domains = await this.domains(appid);
    if (domains.length === 0) throw new JssdkDomainError(appid, url, 'no JS-SDK domains are configured for this authorizer (platform.jssdk.setDomains)');
    if (!hostAllowed(parsed.host.toLowerCase(), parsed.hostname.toLowerCase(), domains)) {
      throw new JssdkDomainError(appid, url, `${parsed.host} is not one of its JS-SDK domains (${domains.join(', ')})`);
    }
    const ticket = await this.ticket(appid);
    const nonceStr = options.nonceStr ?? randomBytes(12).toString('base64url');
    const timestamp = options.timestamp ?? Math.floor(this.o.clock.now() / 1000);
    const { signature } = jsapiSignature({ jsapiTicket: ticket, noncestr: nonceStr, timestamp, url: page });
    return { appId: appid, timestamp, nonceStr, signature };
  }
}
