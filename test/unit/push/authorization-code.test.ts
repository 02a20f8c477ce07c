import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../../src/crypto/secret-box.js';
import { codeFromPayload, SEALED_CODE_PREFIX, sealCode, sealCodeInPayload } from '../../../src/push/authorization-code.js';
import { parseXml } from '../../../src/xml/parse.js';

const C = 'wx1234567890abcdef';
const box = new SecretBox([randomBytes(32).toString('hex')]);
const seal = () => sealCode(box, C, CODE);
const CODE = 'queryauthcode@@@ejUh7Sz0XYpe-AJq_2Lr4HBvAhBhYhT8a1tc9dMXk0Pv';

/** An authorized push as WeChat writes it (spec 3.3): every text field in CDATA. */
const pushXml = (code: string, cdata = true) => {
  const v = (s: string) => (cdata ? `<![CDATA[${s}]]>` : s);
  return `<xml><AppId>${v(C)}</AppId><CreateTime>1413192760</CreateTime><InfoType>${v('authorized')}</InfoType><AuthorizerAppid>${v('wxf8b4f85f3a794e77')}</AuthorizerAppid><AuthorizationCode>${v(code)}</AuthorizationCode><AuthorizationCodeExpiredTime>600</AuthorizationCodeExpiredTime><PreAuthCode>${v('preauthcode@@@ab')}</PreAuthCode></xml>`;
};

describe('the AuthorizationCode is stored sealed in the push log', () => {
  it('replaces the code, in CDATA or not, by a sealed value that opens to it; every other field is unchanged', () => {
    for (const cdata of [true, false]) {
      const xml = pushXml(CODE, cdata);
      const stored = sealCodeInPayload(xml, CODE, seal)!;
      expect(stored).toBeDefined();
      expect(stored).not.toContain(CODE);
      expect(stored).not.toContain('ejUh7Sz0XYpe');
      const fields = parseXml(stored);
      expect(String(fields.AuthorizationCode)).toMatch(new RegExp(`^${SEALED_CODE_PREFIX}v1\\.`));
      const { AuthorizationCode: _a, ...rest } = fields;
      const { AuthorizationCode: _b, ...original } = parseXml(xml);
      expect(rest).toEqual(original);
      expect(codeFromPayload(stored, box, C)).toEqual({ code: CODE, sealed: String(fields.AuthorizationCode).slice(SEALED_CODE_PREFIX.length) });
    }
  });

  it('reads a push stored before sealing as it was written', () => {
    // Nothing opened: no ciphertext to reuse.
    expect(codeFromPayload(pushXml(CODE), box, C)).toEqual({ code: CODE });
    expect(codeFromPayload('<xml><InfoType>unauthorized</InfoType></xml>', box, C)).toBeUndefined();
  });

  it('a sealed code opens only with the keys and for the component it was sealed for', () => {
    const stored = sealCodeInPayload(pushXml(CODE), CODE, seal)!;
    const other = new SecretBox([randomBytes(32).toString('hex')]);
    expect(() => codeFromPayload(stored, other, C)).toThrow(/not configured/);
    expect(() => codeFromPayload(stored, box, 'wxffffffffffffffff')).toThrow(/failed authentication/);
  });

  it('gives up (the caller keeps the push as it came) when the code cannot be sealed safely', () => {
    // A code too short to be sure no copy of it is left in another field (real ones are ~100 characters).
    expect(sealCodeInPayload(pushXml('code1'), 'code1', seal)).toBeUndefined();
    // An element holding something other than the code.
    expect(sealCodeInPayload(pushXml(`${CODE}x`), CODE, seal)).toBeUndefined();
    // No AuthorizationCode element.
    expect(sealCodeInPayload('<xml><InfoType>authorized</InfoType></xml>', CODE, seal)).toBeUndefined();
    // A copy of the code in another field would be left in clear.
    expect(sealCodeInPayload(pushXml(CODE).replace('preauthcode@@@ab', CODE), CODE, seal)).toBeUndefined();
    // A nested element first: sealing it would leave the field itself in clear.
    expect(sealCodeInPayload(`<xml><Extra><AuthorizationCode>x</AuthorizationCode></Extra><AuthorizationCode>${CODE}</AuthorizationCode></xml>`, CODE, seal)).toBeUndefined();
  });
});
