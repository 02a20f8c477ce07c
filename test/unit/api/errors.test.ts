import { describe, expect, it } from 'vitest';
import { ERRCODES, egressIpFrom, errcodeInfo, permissionSetsFor } from '../../../src/api/errors.js';
import { parseRateLimits } from '../../../src/api/rate-limit.js';
import { WeChatApiError } from '../../../src/errors.js';

describe('errcode table (spec 8)', () => {
  it('classes the codes by how to react', () => {
    expect(errcodeInfo(-1)).toMatchObject({ class: 'busy', retryable: true });
    expect(errcodeInfo(45009)).toMatchObject({ class: 'quota', retryable: false });
    expect(errcodeInfo(45011)).toMatchObject({ class: 'rate', retryable: true });
    expect(errcodeInfo(61007)).toMatchObject({ class: 'permission', retryable: false });
    expect(errcodeInfo(61004)).toMatchObject({ class: 'whitelist' });
    for (const code of [40001, 40014, 42001]) expect(errcodeInfo(code).class).toBe('token');
    expect(errcodeInfo(123456)).toMatchObject({ class: 'unknown', retryable: false });
    for (const info of Object.values(ERRCODES)) expect(info.zh && info.en).toBeTruthy();
  });

  it('61007 names the missing permission set of the API (spec 12)', () => {
    const err = new WeChatApiError(61007, 'api is unauthorized to component rid: 1-2-3', '/wxa/commit');
    expect(err).toMatchObject({ errcode: 61007, errorClass: 'permission', retryable: false, rid: '1-2-3', missingPermissionSets: [{ id: 18, name: '小程序开发与数据分析' }] });
    expect(err.meaning.zh).toContain('权限集');
    expect(err.message).toContain('[18] 小程序开发与数据分析');
    expect(err.message).toContain('authorize the platform again');
    expect(new WeChatApiError(61007, 'x', '/wxa/get_qrcode').missingPermissionSets?.map((s) => s.id)).toEqual([18, 86]);
  });

  it('48001 lists the sets too but says to check the token kind first', () => {
    const err = new WeChatApiError(48001, 'api unauthorized', '/cgi-bin/menu/create');
    expect(err.missingPermissionSets).toEqual([{ id: 15, name: '菜单管理' }]);
    expect(err.message).toContain('token kind');
    expect(new WeChatApiError(45009, 'reach max api daily quota limit', '/wxa/commit').missingPermissionSets).toBeUndefined();
    expect(permissionSetsFor('/sns/component/jscode2session')).toEqual([]);
  });

  it('61005/61006 on api_component_token say what happens next (a new ticket push) and to try again', () => {
    for (const errcode of [61005, 61006]) {
      expect(new WeChatApiError(errcode, 'x', '/cgi-bin/component/api_component_token').message).toMatch(
        /refused; with none newer stored, wxopen asks WeChat to push one \(api_start_push_ticket\): try again once it has arrived$/,
      );
    }
    expect(new WeChatApiError(61006, 'x', '/cgi-bin/component/api_query_auth').message).not.toContain('api_start_push_ticket');
    expect(new WeChatApiError(61007, 'x', '/cgi-bin/component/api_component_token').message).not.toContain('api_start_push_ticket');
  });

  it('61004 names the egress IP from the errmsg and where to whitelist it', () => {
    const err = new WeChatApiError(61004, 'access clientip is not registered requestIP: 203.0.113.7 rid: 6f1c', '/cgi-bin/component/api_component_token');
    expect(err.egressIp).toBe('203.0.113.7');
    expect(new WeChatApiError(61004, 'access clientip is not registered rid: 6f1c-aa', '/cgi-bin/component/api_component_token').egressIp).toBeUndefined();
    expect(egressIpFrom('access clientip is not registered requestIP: 2001:db8::1 rid: 1')).toBe('2001:db8::1');
    // An address that starts with `::` keeps both colons, whatever separates it from its label.
    expect(egressIpFrom('invalid ip ipv6 ::1, not in whitelist')).toBe('::1');
    expect(egressIpFrom('requestIP: ::1 rid: 1')).toBe('::1');
    expect(egressIpFrom('clientip=::1')).toBe('::1');
    expect(egressIpFrom('clientip:fe80::1 rid: 1')).toBe('fe80::1');
    const err2 = new WeChatApiError(61004, 'access clientip:203.0.113.7 is not registered rid: 6f1c', '/cgi-bin/component/api_component_token');
    expect(err2.egressIp).toBe('203.0.113.7');
    expect(err2.message).toContain('Add 203.0.113.7 to the platform');
    expect(err2.message).toContain('白名单IP地址');
    expect(egressIpFrom('invalid ip 198.51.100.20 ipv6 ::ffff:198.51.100.20, not in whitelist rid: 1')).toBe('198.51.100.20');
    expect(new WeChatApiError(40164, 'invalid ip 198.51.100.20, not in whitelist', '/cgi-bin/menu/get').egressIp).toBe('198.51.100.20');
  });
});

describe('WXOPEN_API_RATE_LIMITS', () => {
  it('parses api=N/unit pairs', () => {
    const rules = parseRateLimits('wxa/submit_audit=1/s, /cgi-bin/message/custom/send=600/m,*=50/s,wxa/commit=100/d');
    expect(rules.get('wxa/submit_audit')).toEqual({ tokens: 1, perMs: 1000 });
    expect(rules.get('cgi-bin/message/custom/send')).toEqual({ tokens: 600, perMs: 60_000 });
    expect(rules.get('*')).toEqual({ tokens: 50, perMs: 1000 });
    expect(rules.get('wxa/commit')).toEqual({ tokens: 100, perMs: 86_400_000 });
  });
  it('refuses malformed items with one line naming them', () => {
    expect(() => parseRateLimits('wxa/commit=fast')).toThrow('"wxa/commit=fast" is not api=N/unit');
    expect(() => parseRateLimits('*=0/s')).toThrow();
    expect(() => parseRateLimits('*=5/week')).toThrow();
  });
});
