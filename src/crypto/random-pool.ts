import { randomFillSync } from 'node:crypto';

/**
 * CSPRNG bytes handed out from a buffer filled 4 KB at a time. Hand-written because every encrypted reply
 * takes 20 random bytes (16 for the cipher's prefix, 4 for the nonce) and a native call per use was ~6% of
 * a reply (measured); each byte is still handed out once only.
 */
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let offset = POOL_BYTES;

function reserve(n: number): number {
  if (n > POOL_BYTES) throw new RangeError(`[wxopen] at most ${POOL_BYTES} random bytes at once`);
  // Stryker disable next-line ConditionalExpression,EqualityOperator: refilling earlier only discards unused bytes (docs/mutation-survivors.md).
  if (offset + n > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const at = offset;
  offset += n;
  return at;
}

/** Copies `n` fresh random bytes into `target` at `targetStart`. */
export function fillRandom(target: Buffer, targetStart: number, n: number): void {
  const at = reserve(n);
  pool.copy(target, targetStart, at, at + n);
}

/** A fresh random unsigned 32-bit integer. */
export function randomUint32(): number {
  return pool.readUInt32BE(reserve(4));
}
