import { describe, expect, it } from 'vitest';
import * as wxopen from '../../src/index.js';
import * as crypto from '../../src/crypto/index.js';
import * as sandbox from '../../src/sandbox/index.js';
import * as store from '../../src/store/index.js';

describe('package exports', () => {
  it('exposes the SDK, crypto, store and sandbox entry points', () => {
    for (const name of ['loadConfig', 'buildApp', 'startServer', 'Platform', 'openPlatform', 'createStore', 'signPush', 'openPush', 'WeChatApiError', 'TicketMissingError', 'RedisLockBackend', 'pcAuthUrl']) {
      expect(wxopen, name).toHaveProperty(name);
    }
    expect(typeof crypto.decryptMessage).toBe('function');
    expect(typeof crypto.SecretBox).toBe('function');
    expect(typeof store.createSqliteStore).toBe('function');
    expect(typeof sandbox.startSandbox).toBe('function');
  });

  it('builds the PC and mobile authorization URLs of spec 4.1/4.2', () => {
    const i = { componentAppid: 'wxc', preAuthCode: 'pre@@@1', redirectUri: 'https://a.example/authorize/callback?x=1' };
    expect(wxopen.pcAuthUrl('https://mp.weixin.qq.com', { ...i, authType: 2, categoryList: [17, 18] })).toBe(
      'https://mp.weixin.qq.com/cgi-bin/componentloginpage?component_appid=wxc&pre_auth_code=pre%40%40%401&redirect_uri=https%3A%2F%2Fa.example%2Fauthorize%2Fcallback%3Fx%3D1&auth_type=2&category_list=17%7C18',
    );
    // biz_appid and auth_type are exclusive: only biz_appid is sent.
    const mobile = wxopen.mobileAuthUrl('https://open.weixin.qq.com', { ...i, authType: 1, bizAppid: 'wx1234567890abcdef' });
    expect(mobile).toMatch(/^https:\/\/open\.weixin\.qq\.com\/wxaopen\/safe\/bindcomponent\?action=bindcomponent&no_scan=1&/);
    expect(mobile).toContain('biz_appid=wx1234567890abcdef');
    expect(mobile).not.toContain('auth_type');
    expect(mobile.endsWith('#wechat_redirect')).toBe(true);
  });
});
