import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTRY_DOMAIN_ERROR } from '../../src/sandbox/index.js';
import { call, COMPONENT, componentToken, startWorld, type World } from './helpers.js';

describe('authorization entry domain (授权发起页域名, spec 14)', () => {
  let world: World;
  let cat: string;
  beforeAll(async () => {
    world = await startWorld();
    cat = await componentToken(world.sandbox);
  });
  afterAll(async () => world.close());

  // The registered domain is simulated as the platform's host (127.0.0.1 here).
  const platformHost = () => new URL(world.platform.url).hostname;
  const open = async (headers: Record<string, string>, redirect = `${world.platform.url}/authorize/callback`) => {
    const r = await call(world.sandbox.url, '/cgi-bin/component/api_create_preauthcode', { query: { component_access_token: cat }, body: { component_appid: COMPONENT.appid } });
    const url = new URL('/cgi-bin/componentloginpage', world.sandbox.url);
    url.searchParams.set('component_appid', COMPONENT.appid);
    url.searchParams.set('pre_auth_code', String(r.json.pre_auth_code));
    url.searchParams.set('redirect_uri', redirect);
    const res = await fetch(url, { headers });
    return { status: res.status, html: await res.text() };
  };

  it('refuses a page opened directly (no Referer) with the sentence WeChat shows, naming 空', async () => {
    const r = await open({});
    expect(r.status).toBe(400);
    expect(r.html).toContain(`${ENTRY_DOMAIN_ERROR}空`);
  });

  it('refuses a Referer from another host, naming it', async () => {
    const r = await open({ referer: 'https://b.example/start' });
    expect(r.status).toBe(400);
    expect(r.html).toContain(`${ENTRY_DOMAIN_ERROR}b.example`);
  });

  it('refuses a callback on another host even with the right Referer', async () => {
    const r = await open({ referer: `${world.platform.url}/authorize` }, 'https://elsewhere.example/cb');
    expect(r.status).toBe(400);
    expect(r.html).toContain('elsewhere.example');
  });

  it('opens from a page on the registered domain (full URL or origin only, as referrerpolicy="origin" sends)', async () => {
    expect((await open({ referer: `http://${platformHost()}:1/authorize` })).status).toBe(200);
    expect((await open({ referer: `${world.platform.url}/` })).status).toBe(200);
  });

  it('honours an explicit entryDomain and can be switched off', async () => {
    world.sandbox.setPlatform({ ...world.sandbox.state.platform!, entryDomain: 'merchant-entry.example' });
    expect((await open({ referer: `${world.platform.url}/authorize` })).status).toBe(400);
    expect((await open({ referer: 'https://merchant-entry.example/authorize' }, 'https://merchant-entry.example/cb')).status).toBe(200);
    world.sandbox.state.settings.entryDomainCheck = false;
    expect((await open({})).status).toBe(200);
    world.sandbox.state.settings.entryDomainCheck = true;
  });
});
