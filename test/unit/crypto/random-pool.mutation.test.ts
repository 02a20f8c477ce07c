import { describe, expect, it } from 'vitest';
import { fillRandom, randomUint32 } from '../../../src/crypto/random-pool.js';

describe('random pool', () => {
  it('hands out fresh bytes where asked, never the same bytes twice across refills', () => {
    const seen = new Set<string>();
    // Three pools' worth: every 16-byte draw is new (a repeat among 768 random 128-bit values would be a bug).
    for (let i = 0; i < 768; i++) {
      const b = Buffer.alloc(20, 0);
      fillRandom(b, 2, 16);
      expect(b.subarray(0, 2).equals(Buffer.alloc(2)), 'bytes before targetStart untouched').toBe(true);
      expect(b.subarray(18).equals(Buffer.alloc(2)), 'bytes after n untouched').toBe(true);
      const hex = b.subarray(2, 18).toString('hex');
      expect(hex).not.toBe('0'.repeat(32));
      expect(seen.has(hex)).toBe(false);
      seen.add(hex);
    }
    const ints = new Set(Array.from({ length: 64 }, () => randomUint32()));
    expect(ints.size).toBeGreaterThan(60);
  });

  it('serves at most one pool (4096 bytes) at once', () => {
    const whole = Buffer.alloc(4096);
    fillRandom(whole, 0, 4096);
    expect(whole.equals(Buffer.alloc(4096))).toBe(false);
    expect(() => fillRandom(Buffer.alloc(4097), 0, 4097)).toThrow(new RangeError('[wxopen] at most 4096 random bytes at once'));
  });
});
