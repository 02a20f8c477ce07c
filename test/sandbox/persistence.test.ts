import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { authorizedToken, call, COMPONENT, componentToken, MP, startWorld } from './helpers.js';

describe('sandbox state file: what the simulated WeChat knows survives a restart', () => {
  it('keeps tokens, refresh tokens, authorizations, code, quotas, the clock offset and state added later', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wxopen-sbstate-')), 'sandbox.json');
    const first = await startWorld({ stateFile: file, refreshTokenMode: 'rotate' });
    const cat = await componentToken(first.sandbox);
    const { aat, art } = await authorizedToken(first.sandbox, cat, MP, [17, 18, 19, 20]);
    const wxa = (base: string, path: string, token: string, body?: unknown) => call(base, `/wxa/${path}`, { query: { access_token: token }, ...(body !== undefined && { body }) });
    expect((await wxa(first.sandbox.url, 'addtotemplate', cat, { draft_id: 1, template_type: 0 })).errcode).toBe(0);
    const templateId = ((await wxa(first.sandbox.url, 'gettemplatelist', cat)).json.template_list as { template_id: number }[])[0]!.template_id;
    expect((await wxa(first.sandbox.url, 'commit', aat, { template_id: templateId, ext_json: '{}', user_version: 'V1', user_desc: 'd' })).errcode).toBe(0);
    expect((await wxa(first.sandbox.url, 'get_category', aat)).errcode).toBe(0);
    await first.sandbox.advance(3600_000);
    // State another feature adds to SandboxState later (customer-service windows, privacy…): no code here knows it.
    (first.sandbox.state as unknown as Record<string, unknown>).laterFeature = new Map([[MP, { window: new Set(['o1']), until: 42 }]]);
    await first.close();
    expect(existsSync(file)).toBe(true);

    const second = await startWorld({ stateFile: file, refreshTokenMode: 'rotate' });
    try {
      const base = second.sandbox.url;
      // Tokens it issued still work; the authorization and its refresh token are still known (not 61003).
      expect((await wxa(base, 'get_category', aat)).errcode).toBe(0);
      expect((await wxa(base, 'gettemplatelist', cat)).errcode).toBe(0);
      const refreshed = await call(base, '/cgi-bin/component/api_authorizer_token', {
        query: { component_access_token: cat },
        body: { component_appid: COMPONENT.appid, authorizer_appid: MP, authorizer_refresh_token: art },
      });
      expect(refreshed.errcode, JSON.stringify(refreshed.json)).toBe(0);
      expect(refreshed.json.authorizer_refresh_token).not.toBe(art);
      // Code state: the committed version's pages.
      expect((await wxa(base, 'get_page', aat)).json.page_list).toEqual(expect.arrayContaining(['pages/index/index']));
      expect(second.sandbox.state.code.get(MP)?.committed?.userVersion).toBe('V1');
      expect(second.sandbox.clock.offset()).toBeGreaterThanOrEqual(3600_000);
      const later = (second.sandbox.state as unknown as Record<string, unknown>).laterFeature as Map<string, { window: Set<string>; until: number }>;
      expect(later).toBeInstanceOf(Map);
      expect(later.get(MP)?.window).toEqual(new Set(['o1']));
    } finally {
      await second.close();
    }
  });

  it('keeps the daily quota count across a restart', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wxopen-sbstate-')), 'sandbox.json');
    const quotas = { '/wxa/get_category': 2 };
    const first = await startWorld({ stateFile: file, quotas });
    const cat = await componentToken(first.sandbox);
    const { aat } = await authorizedToken(first.sandbox, cat, MP, [17, 18]);
    const category = (base: string) => call(base, '/wxa/get_category', { query: { access_token: aat } });
    expect((await category(first.sandbox.url)).errcode).toBe(0);
    expect((await category(first.sandbox.url)).errcode).toBe(0);
    expect((await category(first.sandbox.url)).errcode).toBe(45009);
    await first.close();
    const second = await startWorld({ stateFile: file, quotas });
    try {
      expect((await category(second.sandbox.url)).errcode).toBe(45009);
    } finally {
      await second.close();
    }
  });

  it('moves an unusable state file aside and starts fresh', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-sbstate-'));
    const file = join(dir, 'sandbox.json');
    writeFileSync(file, '{"version":1,');
    const w = await startWorld({ stateFile: file });
    try {
      expect(w.sandbox.state.authorizations.size).toBe(0);
      expect(readdirSync(dir).some((f) => f.startsWith('sandbox.json.unusable-'))).toBe(true);
    } finally {
      await w.close();
    }
  });
});
