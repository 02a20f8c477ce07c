import { describe, expect, it } from 'vitest';
import { signPush } from '../../../src/crypto/reply.js';
import { buildXml } from '../../../src/xml/build.js';
import { openPush, type OpenPushOptions } from '../../../src/push/verify-push.js';

const TOKEN = 'pushtoken';
const KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const OLD_KEY = 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut';
const APPID = 'wx0c0ffee0c0ffee00';
const NOW = 1_700_000_000;
const INNER = '<xml><AppId><![CDATA[wx0c0ffee0c0ffee00]]></AppId><CreateTime>1700000000</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@x]]></ComponentVerifyTicket></xml>';

const options = (o: Partial<OpenPushOptions> = {}): OpenPushOptions => ({
  token: TOKEN,
  aesKeys: [KEY],
  appid: APPID,
  nowSeconds: NOW,
  maxSkewSeconds: 300,
  ...o,
});

function push(o: { key?: string; appid?: string; timestamp?: string; nonce?: string; message?: string } = {}) {
  return signPush(o.message ?? INNER, {
    token: TOKEN,
    encodingAesKey: o.key ?? KEY,
    appid: o.appid ?? APPID,
    timestamp: o.timestamp ?? String(NOW),
    nonce: o.nonce ?? '12345',
  });
}

function reason(query: Record<string, unknown>, body: string, o: Partial<OpenPushOptions> = {}): string {
  const r = openPush(query, body, options(o));
  return r.ok ? 'ok' : r.reason;
}

describe('openPush: a valid push', () => {
  it('returns the plaintext, parsed fields, envelope and the query values it verified', () => {
    const p = push();
    const r = openPush(p.query, p.body, options());
    expect(r).toEqual({
      ok: true,
      plaintext: INNER,
      fields: { AppId: APPID, CreateTime: '1700000000', InfoType: 'component_verify_ticket', ComponentVerifyTicket: 'ticket@@@x' },
      envelope: { AppId: APPID, Encrypt: expect.any(String) },
      timestamp: String(NOW),
      nonce: '12345',
      msgSignature: p.query.msg_signature,
    });
  });

  it('accepts an upper-case msg_signature (hex case is not part of the signature)', () => {
    const p = push();
    expect(reason({ ...p.query, msg_signature: p.query.msg_signature!.toUpperCase() }, p.body)).toBe('ok');
  });

  it('decrypts with a previous EncodingAESKey during a rotation, whichever position the right key has', () => {
    const p = push({ key: OLD_KEY });
    expect(reason(p.query, p.body, { aesKeys: [KEY, OLD_KEY] })).toBe('ok');
    const q = push();
    expect(reason(q.query, q.body, { aesKeys: [OLD_KEY, KEY] })).toBe('ok');
  });
});

describe('openPush: query parameters', () => {
  it.each(['timestamp', 'nonce', 'msg_signature'])('refuses a push without %s, or with it empty or not a string', (name) => {
    const p = push();
    const { [name]: _dropped, ...rest } = p.query;
    expect(reason(rest, p.body)).toBe('missing_params');
    expect(reason({ ...p.query, [name]: '' }, p.body)).toBe('missing_params');
    expect(reason({ ...p.query, [name]: [p.query[name]] }, p.body)).toBe('missing_params');
  });

  it('accepts query values up to 128 characters and refuses longer ones', () => {
    const nonce = 'n'.repeat(128);
    const p = push({ nonce });
    expect(reason(p.query, p.body)).toBe('ok');
    const longer = push({ nonce: nonce + 'n' });
    expect(reason(longer.query, longer.body)).toBe('missing_params');
  });

  it('refuses a timestamp that is not 1 to 12 decimal digits', () => {
    for (const timestamp of ['17e8', '-1700000000', ' 1700000000', '1700000000.5', '0x6553f100', '1234567890123']) {
      const p = push({ timestamp });
      expect(reason(p.query, p.body, { nowSeconds: Number(timestamp) || NOW }), timestamp).toBe('missing_params');
    }
  });
});

describe('openPush: replay window', () => {
  it('accepts a timestamp exactly maxSkewSeconds away, in either direction', () => {
    for (const t of [NOW - 300, NOW + 300]) {
      const p = push({ timestamp: String(t) });
      expect(reason(p.query, p.body), String(t)).toBe('ok');
    }
  });

  it('refuses one second beyond the window, in the past and in the future, as stale', () => {
    for (const t of [NOW - 301, NOW + 301]) {
      const p = push({ timestamp: String(t) });
      const r = openPush(p.query, p.body, options());
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.reason).toBe('stale');
        expect(r.detail).toContain('301s');
      }
    }
  });

  it('checks the window before the signature: a stale push with a bad signature is stale', () => {
    const p = push({ timestamp: String(NOW - 1000) });
    expect(reason({ ...p.query, msg_signature: 'f'.repeat(40) }, p.body)).toBe('stale');
  });
});

describe('openPush: envelope and signature', () => {
  it('refuses a body without a usable <Encrypt> as missing_encrypt', () => {
    const p = push();
    for (const body of [buildXml({ AppId: APPID }), buildXml({ AppId: APPID, Encrypt: '' }), '<xml><Encrypt><A>1</A></Encrypt></xml>']) {
      expect(reason(p.query, body), body).toBe('missing_encrypt');
    }
  });

  it('refuses an envelope nested deeper than two levels', () => {
    const p = push();
    expect(reason(p.query, '<xml><A><B><C>1</C></B></A></xml>')).toBe('xml_malformed');
  });

  it('refuses a body over maxBodyLength before parsing it', () => {
    const p = push();
    expect(reason(p.query, p.body, { maxBodyLength: p.body.length - 1 })).toBe('xml_too_large');
    expect(reason(p.query, p.body, { maxBodyLength: p.body.length + 1 })).toBe('ok');
  });

  it('refuses a DOCTYPE in the envelope as forbidden', () => {
    const p = push();
    expect(reason(p.query, `<!DOCTYPE x [<!ENTITY e "1">]>${p.body}`)).toBe('xml_forbidden');
  });

  it('refuses a signature over other values, and signs token, timestamp, nonce and Encrypt', () => {
    const p = push();
    const other = push({ nonce: '999' });
    expect(reason({ ...p.query, msg_signature: other.query.msg_signature }, p.body)).toBe('bad_signature');
    expect(reason(p.query, p.body, { token: 'othertoken' })).toBe('bad_signature');
    // Same query, someone else's ciphertext: the signature covers Encrypt.
    expect(reason(p.query, push({ message: '<xml><A>1</A></xml>' }).body)).toBe('bad_signature');
  });

  it('checks the signature before decrypting: a forged ciphertext under a bad signature is bad_signature', () => {
    const p = push();
    expect(reason(p.query, buildXml({ AppId: APPID, Encrypt: 'AAAA' }))).toBe('bad_signature');
  });
});

describe('openPush: ciphertext', () => {
  it('refuses a push encrypted for another appid as appid_mismatch', () => {
    const p = push({ appid: 'wx1111111111111111' });
    expect(reason(p.query, p.body)).toBe('appid_mismatch');
  });

  it('reports the first key’s failure when no key decrypts', () => {
    const p = push({ key: 'QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ' });
    const r = openPush(p.query, p.body, options({ aesKeys: [KEY, OLD_KEY] }));
    expect(r.ok).toBe(false);
    // Decrypting under the wrong key yields garbage padding (or, rarely, a garbage length).
    if (!r.ok) expect(['bad_padding', 'bad_length', 'appid_mismatch']).toContain(r.reason);
  });

  it('refuses every push when no EncodingAESKey is configured', () => {
    const p = push();
    expect(reason(p.query, p.body, { aesKeys: [] })).toBe('illegal_aes_key');
  });

  it('refuses an authentic push whose inner XML is malformed as xml_malformed', () => {
    const p = push({ message: '<xml><A>1</B></xml>' });
    expect(reason(p.query, p.body)).toBe('xml_malformed');
  });

  it('parses the inner XML at full depth (not the envelope’s two levels)', () => {
    const p = push({ message: '<xml><A><B><C>deep</C></B></A></xml>' });
    const r = openPush(p.query, p.body, options());
    expect(r.ok && r.fields).toEqual({ A: { B: { C: 'deep' } } });
  });
});

describe('openPush: diagnosable refusals and configuration', () => {
  const detail = (query: Record<string, unknown>, body: string, o: Partial<OpenPushOptions> = {}): string => {
    const r = openPush(query, body, options(o));
    return r.ok ? 'ok' : r.detail;
  };

  it('says in the detail what was wrong, for the one log line a refusal gets', () => {
    const p = push();
    expect(detail({}, p.body)).toMatch(/timestamp, nonce and msg_signature are required/);
    expect(detail({ ...p.query, timestamp: '1e9' }, p.body)).toMatch(/timestamp is not a decimal number/);
    expect(detail(p.query, buildXml({ AppId: APPID }))).toMatch(/no <Encrypt>/);
    expect(detail(p.query, p.body, { token: 'other' })).toMatch(/msg_signature does not match/);
    expect(detail(p.query, p.body, { aesKeys: [] })).toMatch(/no EncodingAESKey configured/);
  });

  it('applies a body limit above the parser’s 256 KiB default to the decrypted XML too', () => {
    const p = push({ message: `<xml><A>${'x'.repeat(300 * 1024)}</A></xml>` });
    expect(reason(p.query, p.body, { maxBodyLength: 1024 * 1024 })).toBe('ok');
  });

  it('does not disguise a programming error (a malformed decoded key) as a refused push', () => {
    const p = push();
    const broken = { key: Buffer.alloc(5), iv: Buffer.alloc(16) };
    expect(() => openPush(p.query, p.body, options({ aesKeys: [broken] }))).toThrow(RangeError);
  });
});
