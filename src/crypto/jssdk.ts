import { createHash } from 'node:crypto';

export interface JsapiSignatureInput {
  jsapiTicket: string;
  noncestr: string;
  timestamp: string | number;
  /** The page URL; everything from `#` on is dropped, nothing is escaped. */
  url: string;
}

/** JS-SDK `wx.config` signature (JS-SDK appendix 1): keys in ASCII order, raw values. */
export function jsapiSignature(input: JsapiSignatureInput): { string1: string; signature: string } {
  const hash = input.url.indexOf('#');
  const url = hash < 0 ? input.url : input.url.slice(0, hash);
  const string1 = `jsapi_ticket=${input.jsapiTicket}&noncestr=${input.noncestr}&timestamp=${input.timestamp}&url=${url}`;
  return { string1, signature: createHash('sha1').update(string1).digest('hex') };
}
