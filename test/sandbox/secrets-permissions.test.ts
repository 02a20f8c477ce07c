import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_PERMISSIONS } from '../../src/sandbox/index.js';
import { checkPermission } from '../../src/sandbox/permissions.js';
import { authorizedToken, call, COMPONENT, componentToken, MP, OA, startWorld, type World } from './helpers.js';

describe('sandbox: secrets and permission sets', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => world.close());

  it('answers 40125 for a wrong component secret on every path that takes one (41004 when missing)', async () => {
    const ticket = world.sandbox.state.latestTicket!;
    const paths: Array<[string, Record<string, unknown>, string]> = [
      ['/cgi-bin/component/api_component_token', { component_appid: COMPONENT.appid, component_verify_ticket: ticket }, 'component_appsecret'],
      ['/cgi-bin/component/api_start_push_ticket', { component_appid: COMPONENT.appid }, 'component_secret'],
      ['/cgi-bin/component/clear_quota/v2', { component_appid: COMPONENT.appid }, 'appsecret'],
    ];
    for (const [path, body, field] of paths) {
      expect((await call(world.sandbox.url, path, { body: { ...body, [field]: 'wrong-secret-0000000000' } })).errcode, path).toBe(40125);
      expect((await call(world.sandbox.url, path, { body })).errcode, path).toBe(41004);
      expect((await call(world.sandbox.url, path, { body: { ...body, [field]: COMPONENT.secret } })).errcode, path).toBe(0);
    }
  });

  it('61007 when the account could grant the set but did not; 48001 when its type lacks the API', async () => {
    expect(checkPermission('/cgi-bin/menu/create', 'official', [1])).toBe('set_not_granted');
    expect(checkPermission('/cgi-bin/menu/create', 'miniprogram', [18])).toBe('account_lacks_api');
    expect(checkPermission('/wxa/speedupaudit', 'miniprogram', [18])).toBe('ok');
    expect(Object.keys(API_PERMISSIONS)).toEqual(expect.arrayContaining(['/wxa/speedupaudit', '/wxa/change_visitstatus', '/cgi-bin/component/setprivacysetting']));
    const cat = await componentToken(world.sandbox);
    const { aat: mpLinksOnly } = await authorizedToken(world.sandbox, cat, MP, [88]);
    const privacy = await call(world.sandbox.url, '/cgi-bin/component/getprivacysetting', { query: { access_token: mpLinksOnly }, body: { privacy_ver: 2 } });
    expect(privacy.json).toMatchObject({ errcode: 61007, errmsg: expect.stringMatching(/^api is unauthorized to component rid: /) });
    const { aat: oaToken } = await authorizedToken(world.sandbox, cat, OA);
    expect((await call(world.sandbox.url, '/wxa/speedupaudit', { query: { access_token: oaToken }, body: { auditid: 1 } })).errcode).toBe(48001);
    // The permission set is checked before the body (an empty getvisitstatus body would otherwise be 44002).
    expect((await call(world.sandbox.url, '/wxa/getvisitstatus', { query: { access_token: mpLinksOnly }, method: 'POST' })).errcode).toBe(61007);
  });
});
