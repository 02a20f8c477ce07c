import { SANDBOX_DEFAULTS } from '../../src/config.js';
import { signPush } from '../../src/crypto/reply.js';
import type { OpenPushOptions } from '../../src/push/verify-push.js';

/**
 * Bodies a stranger can post to a push URL, each `size` characters, read before the signature is
 * checked (bench/xml.ts reports them; test/unit/xml-pathological.test.ts bounds them). Strings are
 * made flat, as the server's Buffer → string conversion makes them.
 */
export function pathologicalBodies(size = 64 * 1024): [string, string][] {
  const fill = (head: string, unit: string) => head + unit.repeat(Math.floor((size - head.length) / unit.length));
  const distinct = (() => {
    let s = '<xml>';
    for (let i = 0; s.length < size - 20; i++) s += `<a${i}/>`;
    return s + '</xml>';
  })();
  const bodies: [string, string][] = [
    ['& only', fill('', '&')],
    ['& inside <Encrypt>', fill('<xml><Encrypt>', '&')],
    ['&a runs', fill('<xml><Encrypt>', '&a')],
    ['&amp; references', fill('<xml><Encrypt>', '&amp;')],
    ['&#x41; references', fill('<xml><Encrypt>', '&#x41;')],
    ['< only', fill('', '<')],
    ['< after a root', fill('<xml>', '<')],
    ['deep nesting', fill('', '<a>')],
    ['long attribute run', fill('<xml ', 'a="b" ')],
    ['unterminated attributes', fill('<xml ', 'a="b ')],
    ['many siblings', fill('<xml>', '<a/>')],
    ['many distinct siblings', distinct],
    ['text between elements', fill('<xml>', 'a<b/>')],
    ['many CDATA sections', fill('<xml><Encrypt>', '<![CDATA[a]]>')],
    ['unterminated CDATA', fill('<xml><Encrypt><![CDATA[', ']')],
    ['unterminated comment', fill('<xml><!--', '-')],
    ['comment of ->', fill('<xml><!--', '->')],
    ['many comments', fill('<xml>', '<!---->')],
    ['unterminated declaration', fill('<?xml', '?')],
    ['close tags', fill('<xml>', '</a>')],
  ];
  return bodies.map(([name, body]) => [name, Buffer.from(body).toString()]);
}

/** A well-formed envelope of `size` characters whose signature is wrong: the least any body costs. */
export function badSignatureEnvelope(size = 64 * 1024): string {
  const head = '<xml><ToUserName><![CDATA[gh_0]]></ToUserName><Encrypt><![CDATA[';
  const tail = ']]></Encrypt></xml>';
  return Buffer.from(head + 'A'.repeat(size - head.length - tail.length) + tail).toString();
}

/** Options and a valid signed push whose body is about `size` characters. */
export function validPush(size = 64 * 1024): { query: Record<string, string>; body: string; options: OpenPushOptions } {
  const now = Math.floor(Date.now() / 1000);
  const options: OpenPushOptions = {
    token: SANDBOX_DEFAULTS.WXOPEN_TOKEN,
    aesKeys: [SANDBOX_DEFAULTS.WXOPEN_ENCODING_AES_KEY],
    appid: SANDBOX_DEFAULTS.WXOPEN_COMPONENT_APPID,
    nowSeconds: now,
    maxSkewSeconds: 300,
    maxBodyLength: size + 1024,
  };
  // Base64 grows the plaintext by 4/3.
  const content = 'x'.repeat(Math.floor(((size - 400) * 3) / 4) - 200);
  const signed = signPush(`<xml><ToUserName><![CDATA[gh_0]]></ToUserName><Content><![CDATA[${content}]]></Content></xml>`, {
    token: options.token,
    encodingAesKey: SANDBOX_DEFAULTS.WXOPEN_ENCODING_AES_KEY,
    appid: options.appid,
    timestamp: String(now),
  });
  return { query: signed.query, body: Buffer.from(signed.body).toString(), options };
}
