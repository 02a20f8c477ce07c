import type { Clock } from '../util/clock.js';

export interface TokenBucketOptions {
  /** Burst size; also the number refilled per `perMs`. */
  capacity: number;
  perMs: number;
  clock: Clock;
  /** Buckets kept at once; the least recently used is dropped beyond it. */
  maxKeys: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets by key (client address, or one key for the total). In memory, per process, on
 * purpose: it guards WeChat quota against a browser flood at one instance, needs no round trip on a
 * page view, and the total bucket bounds each instance; a shared limiter belongs to the API client.
 * Memory is bounded: at most `maxKeys` buckets (a Map kept in LRU order); a dropped bucket comes back
 * full, which the total bucket still caps.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly o: TokenBucketOptions) {}

  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token; false (and the seconds until one is back) when the key has none. */
  take(key: string): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const now = this.o.clock.now();
    const rate = this.o.capacity / this.o.perMs;
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { tokens: this.o.capacity, at: now };
      if (this.buckets.size >= this.o.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    } else {
      this.buckets.delete(key);
      b.tokens = Math.min(this.o.capacity, b.tokens + Math.max(0, now - b.at) * rate);
      b.at = now;
    }
    this.buckets.set(key, b);
    if (b.tokens < 1) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / rate / 1000)) };
    b.tokens -= 1;
    return { ok: true };
  }
}
