import { describe, expect, it } from 'vitest';
import { matchPushPath, parseQuery, splitTarget } from '../../../src/server/push-endpoint.js';

describe('matchPushPath', () => {
  it('names the two push URLs under the base path', () => {
    expect(matchPushPath('/wechat/component')).toEqual({ url: 'component' });
    expect(matchPushPath('/wechat/authorizer/wx570bc396a51b8ff8')).toEqual({ url: 'authorizer', appid: 'wx570bc396a51b8ff8' });
    expect(matchPushPath('/api/wechat/component', '/api/wechat')).toEqual({ url: 'component' });
    expect(matchPushPath('/component', '')).toEqual({ url: 'component' });
  });

  it('decodes the appid segment and flags a malformed escape', () => {
    expect(matchPushPath('/wechat/authorizer/wx%35')).toEqual({ url: 'authorizer', appid: 'wx5' });
    expect(matchPushPath('/wechat/authorizer/%ff')).toBe('bad_path');
    // An empty or non-appid segment is the handler's to refuse (400 missing_params), as on the server.
    expect(matchPushPath('/wechat/authorizer/')).toEqual({ url: 'authorizer', appid: '' });
  });

  it('is undefined for anything else', () => {
    for (const path of ['/wechat', '/wechat/', '/wechat/components', '/wechat/componentx', '/wechatcomponent', '/x/wechat/component', '/wechat/authorizer', '/wechat/authorizer/a/b', '/wechat/component/', '/api/wechat/component']) {
      expect(matchPushPath(path), path).toBeUndefined();
    }
  });
});

describe('splitTarget', () => {
  it('splits a request target or an absolute URL into path and query string', () => {
    expect(splitTarget('/wechat/component?timestamp=1&nonce=2')).toEqual({ path: '/wechat/component', search: 'timestamp=1&nonce=2' });
    expect(splitTarget('https://wx.example.com:8443/wechat/component?a=1#frag')).toEqual({ path: '/wechat/component', search: 'a=1' });
    expect(splitTarget('http://host')).toEqual({ path: '/', search: '' });
    expect(splitTarget('/p')).toEqual({ path: '/p', search: '' });
  });

  it('parses the query the way URLSearchParams does (last value wins)', () => {
    expect(parseQuery('')).toEqual({});
    expect(parseQuery('a=1&a=2&b=%20x')).toEqual({ a: '2', b: ' x' });
  });

  it('reads every query exactly as Object.fromEntries(new URLSearchParams()) does, decoding or not', () => {
    const reference = (q: string): Record<string, string> => Object.fromEntries(new URLSearchParams(q));
    const queries = [
      'timestamp=1700000000&nonce=1234567&msg_signature=abc&encrypt_type=aes&signature=def',
      'a', 'a=', '=b', '&&a=1&&', 'a=1&', '&a', 'a==b', 'a=b=c&d', '=', '&', '&&', 'x=1&y&z=',
      'a=1&a=2&a=', 'k=%E4%BD%A0%E5%A5%BD', 'k=%zz&j=%4', 'sp=a+b&p=%2B', 'ü=ÿ&\u00ff=1',
      'constructor=1&toString=2&hasOwnProperty=3', '__proto__=x&a=1', 'a=1;b=2', 'a=%00',
    ];
    for (const q of queries) expect({ q, parsed: { ...parseQuery(q) } }).toEqual({ q, parsed: reference(q) });
    // `__proto__` is an own key, never the object's prototype.
    const polluted = parseQuery('__proto__=x');
    expect(Object.getPrototypeOf(polluted)).toBe(null);
    expect(Object.keys(polluted)).toEqual(['__proto__']);
    expect(polluted['__proto__']).toBe('x');
  });
});
