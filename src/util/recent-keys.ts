import type { Clock } from './clock.js';

/**
 * Recently seen keys, each remembered for at least `ttlMs` and at most 2×`ttlMs`, bounded to
 * `maxKeys`: the dedupe of message pushes, on the per-message hot path.
 *
 * Hand-written because it is hot and measured. A `Set<string>` of 100k keys cost ~4 µs per push in
 * bench:push (mostly GC: every key is promoted to the old generation) and ~50 MB, since keys sliced
 * from a decrypted message keep the whole message alive. Here a key is reduced to a 63-bit fingerprint
 * in two preallocated open-addressing tables (generations that rotate instead of evicting one key at a
 * time): no allocation per push, a fixed ~2 MB per 100k keys. Two different keys share a fingerprint
 * with probability ~2⁻⁶³ per pair; only authenticated pushes reach it, so nobody can aim for that.
 */
export class RecentKeys {
  private current: FingerprintTable;
  private previous: FingerprintTable;
  private rotatedAt: number;
  private readonly perGeneration: number;

  constructor(
    private readonly ttlMs: number,
    maxKeys: number,
    private readonly clock: Clock,
  ) {
    this.perGeneration = Math.max(1, Math.floor(maxKeys / 2));
    this.current = new FingerprintTable(this.perGeneration);
    this.previous = new FingerprintTable(this.perGeneration);
    this.rotatedAt = clock.now();
  }

  /** Keys remembered now (both generations). */
  get size(): number {
    return this.current.count + this.previous.count;
  }

  /** Returns true the first time a key is seen, false for a repeat within the TTL. */
  add(key: string): boolean {
    const now = this.clock.now();
    if (now - this.rotatedAt >= this.ttlMs || this.current.count >= this.perGeneration) {
      const stale = this.previous;
      this.previous = this.current;
      this.current = stale.clear();
      // Keys older than two TTLs are dropped wholesale with the old generation.
      if (now - this.rotatedAt >= 2 * this.ttlMs) this.previous.clear();
      this.rotatedAt = now;
    }
    const [hi, lo] = fingerprint(key);
    if (this.current.has(hi, lo) || this.previous.has(hi, lo)) return false;
    this.current.insert(hi, lo);
    return true;
  }
}

class FingerprintTable {
  readonly hi: Uint32Array;
  readonly lo: Uint32Array;
  private readonly mask: number;
  count = 0;

  constructor(entries: number) {
    // Load factor ≤ 0.5 keeps linear probes short.
    let size = 8;
    while (size < entries * 2) size *= 2;
    this.hi = new Uint32Array(size);
    this.lo = new Uint32Array(size);
    this.mask = size - 1;
  }

  has(hi: number, lo: number): boolean {
    for (let i = hi & this.mask; this.lo[i] !== 0; i = (i + 1) & this.mask) {
      if (this.lo[i] === lo && this.hi[i] === hi) return true;
    }
    return false;
  }

  insert(hi: number, lo: number): void {
    let i = hi & this.mask;
    while (this.lo[i] !== 0) i = (i + 1) & this.mask;
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.count++;
  }

  clear(): this {
    this.hi.fill(0);
    this.lo.fill(0);
    this.count = 0;
    return this;
  }
}

// One reused pair: the caller destructures it at once, so no array is allocated per key.
const pair: [number, number] = [0, 0];

/** Two independent 32-bit hashes (FNV-1a and a murmur-style mix), each finalized with murmur3's fmix32. */
function fingerprint(key: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  pair[0] = fmix32(a ^ key.length) >>> 0;
  // Low bit forced on: 0 marks an empty slot.
  pair[1] = (fmix32(b) | 1) >>> 0;
  return pair;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
