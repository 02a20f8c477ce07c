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
});
