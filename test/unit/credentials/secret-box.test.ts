import { describe, expect, it } from 'vitest';
import { SecretBox, SecretBoxError } from '../../../src/crypto/secret-box.js';

const K1 = '11'.repeat(32);
const K2 = '22'.repeat(32);

describe('SecretBox', () => {
  it('seals with the current key and opens values sealed with a previous key', () => {
    const old = new SecretBox([K1]);
    const sealed = old.seal('refresh@@@token', 'wxc:wxa');
    expect(sealed).not.toContain('refresh@@@token');
    expect(sealed).toMatch(/^v1\.[0-9a-f]{8}\./);
    const rotated = new SecretBox([K2, K1]);
    expect(rotated.open(sealed, 'wxc:wxa')).toBe('refresh@@@token');
    expect(rotated.isStale(sealed)).toBe(true);
    expect(rotated.isStale(rotated.seal('x', 'a'))).toBe(false);
  });

  it('refuses a value bound to another row, a tampered value, or an unknown key', () => {
    const box = new SecretBox([K1]);
    const sealed = box.seal('secret', 'wxc:wxA');
    expect(() => box.open(sealed, 'wxc:wxB')).toThrow(SecretBoxError);
    const parts = sealed.split('.');
    parts[4] = Buffer.from('forged').toString('base64url');
    expect(() => box.open(parts.join('.'), 'wxc:wxA')).toThrow(/failed authentication/);
    expect(() => new SecretBox([K2]).open(sealed, 'wxc:wxA')).toThrow(/not configured/);
    expect(() => box.open('plain-text-token', 'wxc:wxA')).toThrow(/sealed format/);
    expect(() => new SecretBox([])).toThrow(SecretBoxError);
    expect(() => new SecretBox(['abcd'])).toThrow(/32 bytes/);
  });

  it('uses a fresh IV each time', () => {
    const box = new SecretBox([K1]);
    expect(box.seal('same', 'a')).not.toBe(box.seal('same', 'a'));
  });
});
