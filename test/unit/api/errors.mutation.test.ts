import { describe, expect, it } from 'vitest';
import { egressIpFrom, errcodeInfo, permissionSetsFor, ridFrom } from '../../../src/api/errors.js';
import { WeChatApiError } from '../../../src/errors.js';

/** The parts of the errcode module that read WeChat's errmsg: which IP to whitelist, which rid to quote. */
describe('errmsg parsing (mutation)', () => {
  it('takes the first well-formed dotted IPv4 literal, whatever surrounds it', () => {
    expect(egressIpFrom('requestIP: 255.250.249.200 rid: 1')).toBe('255.250.249.200');
    expect(egressIpFrom('ip 199.99.9.0, not in whitelist')).toBe('199.99.9.0');
    expect(egressIpFrom('x10.0.0.1y')).toBe('10.0.0.1');
    expect(egressIpFrom('requestIP:1.2.3.4')).toBe('1.2.3.4');
    expect(egressIpFrom('a 0.0.0.0 then 8.8.8.8')).toBe('0.0.0.0');
    expect(egressIpFrom('first 203.0.113.9 second 198.51.100.1')).toBe('203.0.113.9');
  });

  it('does not take an out-of-range or longer dotted number for an IP', () => {
    for (const msg of ['requestIP 256.1.1.1', 'v 1.2.3.4.5', 'v 1.2.3', 'v 01.2.3.4.', 'v 1.2.3.4567', 'v 300.2.3.4', 'v 260.2.3.4', 'v 1..2.3', 'v a.b.c.d', 'v 1.2.3.']) {
      expect(egressIpFrom(msg), msg).toBeUndefined();
    }
  });

  it('takes an IPv6 literal only after a label WeChat uses', () => {
    expect(egressIpFrom('clientip=[2001:DB8::1] rid: 1')).toBe('2001:DB8::1');
    expect(egressIpFrom('ipv6 fe80::1 not in whitelist')).toBe('fe80::1');
    expect(egressIpFrom('invalid ip fe80::a:b, not in whitelist')).toBe('fe80::a:b');
    expect(egressIpFrom('requestIP :  2001:db8::2')).toBe('2001:db8::2');
    expect(egressIpFrom('REQUESTIP: abcd:ef01::9')).toBe('abcd:ef01::9');
    expect(egressIpFrom('from 2001:db8::1')).toBeUndefined();
    expect(egressIpFrom('clientip: none')).toBeUndefined();
    expect(egressIpFrom('')).toBeUndefined();
  });

  it('ridFrom reads the request id after "rid:"', () => {
    expect(ridFrom('invalid credential rid: 6f1c-aa_01 more')).toBe('6f1c-aa_01');
    expect(ridFrom('x rid:abc')).toBe('abc');
    expect(ridFrom('x rid:   y-1')).toBe('y-1');
    expect(ridFrom('x rid: -')).toBe('-');
    expect(ridFrom('no request id')).toBeUndefined();
    expect(ridFrom('rid: !')).toBeUndefined();
    expect(new WeChatApiError(40001, 'invalid credential, rid: 65a1-2b', '/x').rid).toBe('65a1-2b');
  });
});

describe('errcodes outside the table (mutation)', () => {
  it('an undocumented errcode is class unknown, not retryable, and says so in both languages', () => {
    expect(errcodeInfo(9_999_999)).toEqual({ zh: '未知错误', en: 'undocumented errcode', class: 'unknown', retryable: false });
    const err = new WeChatApiError(9_999_999, 'what', '/x');
    expect(err.meaning).toEqual({ zh: '未知错误', en: 'undocumented errcode' });
    expect(err).toMatchObject({ errorClass: 'unknown', retryable: false });
  });

  it('names every set an API belongs to, by id and name', () => {
    expect(permissionSetsFor('/cgi-bin/message/custom/send')).toEqual([
      { id: 1, name: '消息管理' },
      { id: 6, name: '微信多客服' },
      { id: 19, name: '小程序客服管理' },
      { id: 100, name: '(服务号接口权限 100)' },
      { id: 101, name: '(服务号接口权限 101)' },
    ]);
    expect(permissionSetsFor('/wxa/submit_audit')).toEqual([{ id: 18, name: '小程序开发与数据分析' }]);
  });
});
