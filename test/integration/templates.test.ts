import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startAdminWorld, type AdminWorld } from '../helpers/admin-world.js';

interface TemplateView {
  template_id: number;
  template_type: number;
  draft_id: number | null;
  user_version: string;
  user_desc: string;
  create_time: string;
  source_miniprogram_appid: string | null;
}

async function login(w: AdminWorld): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${w.adminUrl}/login`, { method: 'POST', body: new URLSearchParams({ token: ADMIN_TOKEN, next: '/templates' }), redirect: 'manual' });
  expect(res.status).toBe(303);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const page = await (await fetch(`${w.adminUrl}/templates`, { headers: { cookie } })).text();
  return { cookie, csrf: /name="csrf" value="([^"]+)"/.exec(page)![1]! };
}

describe('template library: admin API and dashboard against the sandbox', () => {
  let w: AdminWorld;
  beforeAll(async () => {
    w = await startAdminWorld();
    await w.settle();
  });
  afterAll(async () => {
    await w?.close();
  });

  it('lists drafts, adds one as a template, lists it, deletes it; WeChat was called each time', async () => {
    const drafts = (await (await w.api('/api/v1/templates/drafts')).json()) as { drafts: Array<{ draft_id: number; user_version: string; source_miniprogram_appid: string | null; template_ids: number[] }> };
    // The sandbox's draft box starts with two uploads; newest first.
    expect(drafts.drafts.map((d) => [d.draft_id, d.user_version])).toEqual([
      [2, '1.1.0'],
      [1, '1.0.0'],
    ]);
    expect(drafts.drafts[0]!.source_miniprogram_appid).toMatch(/^wx/);
    expect(drafts.drafts[0]!.template_ids).toEqual([]);

    const added = await w.api('/api/v1/templates', { method: 'POST', body: JSON.stringify({ draft_id: 2 }) });
    expect(added.status).toBe(201);
    const t = (await added.json()) as TemplateView;
    expect(t).toMatchObject({ draft_id: 2, user_version: '1.1.0', user_desc: '新增会员页', template_type: 0 });
    expect(t.create_time).toMatch(/^\d{4}-\d\d-\d\dT/);

    const lib = (await (await w.api('/api/v1/templates')).json()) as { limit: number; count: number; templates: TemplateView[] };
    expect(lib).toMatchObject({ limit: 200, count: 1 });
    expect(lib.templates[0]!.template_id).toBe(t.template_id);
    const after = (await (await w.api('/api/v1/templates/drafts')).json()) as { drafts: Array<{ draft_id: number; template_ids: number[] }> };
    expect(after.drafts.find((d) => d.draft_id === 2)!.template_ids).toEqual([t.template_id]);
    // A standard-library template, and the type filter.
    const std = (await (await w.api('/api/v1/templates', { method: 'POST', body: JSON.stringify({ draft_id: 1, template_type: 1 }) })).json()) as TemplateView;
    expect(std.template_type).toBe(1);
    expect(((await (await w.api('/api/v1/templates?template_type=1')).json()) as { templates: TemplateView[] }).templates.map((x) => x.template_id)).toEqual([std.template_id]);

    expect(w.sandbox.counters.get('/wxa/addtotemplate')).toBe(2);
    const del = await w.api(`/api/v1/templates/${t.template_id}`, { method: 'DELETE' });
    expect(await del.json()).toEqual({ template_id: t.template_id, deleted: true });
    expect(((await (await w.api('/api/v1/templates')).json()) as { templates: TemplateView[] }).templates.map((x) => x.template_id)).toEqual([std.template_id]);
    await w.api(`/api/v1/templates/${std.template_id}`, { method: 'DELETE' });

    const audit = (await (await w.api('/api/v1/audit?action=template.delete')).json()) as { entries: Array<{ key_id: string; target: string }> };
    expect(audit.entries.map((e) => e.target)).toContain(String(t.template_id));
  });

  it("answers WeChat's template errors with their errcode: 85064 not found, 85065 library full (200)", async () => {
    const gone = await w.api('/api/v1/templates/999999', { method: 'DELETE' });
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ error: 'WXO_ERR_TEMPLATE_NOT_FOUND', errcode: 85064 });
    const noDraft = await w.api('/api/v1/templates', { method: 'POST', body: JSON.stringify({ draft_id: 424242 }) });
    expect(noDraft.status).toBe(404);
    expect(await noDraft.json()).toMatchObject({ errcode: 85064, message: expect.stringContaining('424242') });
    expect((await w.api('/api/v1/templates', { method: 'POST', body: JSON.stringify({ draft_id: 'x' }) })).status).toBe(400);
    expect((await w.api('/api/v1/templates?template_type=7')).status).toBe(400);

    // Fill the library to WeChat's cap through the real API, then one more.
    const before = ((await (await w.api('/api/v1/templates')).json()) as { count: number }).count;
    for (let i = before; i < 200; i++) await w.platform.componentApi.templates.addToTemplate(1);
    const full = await w.api('/api/v1/templates', { method: 'POST', body: JSON.stringify({ draft_id: 1 }) });
    expect(full.status).toBe(409);
    const body = (await full.json()) as { error: string; errcode: number; message: string };
    expect(body).toMatchObject({ error: 'WXO_ERR_TEMPLATE_LIBRARY_FULL', errcode: 85065 });
    expect(body.message).toMatch(/200.*delete old templates/);
    expect(((await (await w.api('/api/v1/templates')).json()) as { count: number }).count).toBe(200);

    // The dashboard says so and disables "add".
    const { cookie } = await login(w);
    const page = await (await fetch(`${w.adminUrl}/templates`, { headers: { cookie } })).text();
    expect(page).toContain('id="library-full"');
    expect(page).toContain('模板库已满');
    expect(page).toMatch(/<button type="submit" disabled>添加到模板库<\/button>/);

    // Delete them all again (the next test starts from an empty library).
    const lib = (await (await w.api('/api/v1/templates')).json()) as { templates: TemplateView[] };
    for (const t of lib.templates) await w.platform.componentApi.templates.deleteTemplate(t.template_id);
  });

  it('scopes: templates:read may list but not change; a key narrowed to authorizers may not change the library', async () => {
    const mk = async (scopes: string[], authorizers?: string[]) =>
      ((await (await w.api('/api/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'tpl', scopes, ...(authorizers && { authorizers }) }) })).json()) as { key: string }).key;
    const reader = await mk(['templates:read']);
    expect((await w.api('/api/v1/templates', { token: reader })).status).toBe(200);
    expect((await w.api('/api/v1/templates', { token: reader, method: 'POST', body: JSON.stringify({ draft_id: 1 }) })).status).toBe(403);
    const narrow = await mk(['templates:read', 'templates:write'], ['wx3a7f2c9e1b4d6f80']);
    expect((await w.api('/api/v1/templates', { token: narrow, method: 'POST', body: JSON.stringify({ draft_id: 1 }) })).status).toBe(403);
    const other = await mk(['tokens:read']);
    expect((await w.api('/api/v1/templates/drafts', { token: other })).status).toBe(403);
    expect((await w.api('/api/v1/templates')).status).toBe(200);
    expect((await w.api('/api/v1/templates', { token: null })).status).toBe(401);
  });

  it('appears in the OpenAPI document', async () => {
    const doc = (await (await w.api('/docs/json')).json()) as { paths: Record<string, Record<string, { tags?: string[] }>> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/templates', '/api/v1/templates/drafts', '/api/v1/templates/{template_id}']));
    expect(Object.keys(doc.paths['/api/v1/templates']!)).toEqual(expect.arrayContaining(['get', 'post']));
    expect(doc.paths['/api/v1/templates/{template_id}']!.delete!.tags).toEqual(['templates']);
  });

  it('dashboard: Chinese first, add and delete through CSRF-protected forms, errors shown on the page', async () => {
    const { cookie, csrf } = await login(w);
    const origin = w.adminUrl;
    const page = await (await fetch(`${w.adminUrl}/templates`, { headers: { cookie } })).text();
    expect(page).toContain('<html lang="zh-CN">');
    expect(page).toContain('草稿箱');
    expect(page).toMatch(/<tr data-draft="2">.*1\.1\.0.*新增会员页/s);
    expect(page).toContain('模板库已用 0 / 200');
    const en = await (await fetch(`${w.adminUrl}/templates?lang=en`, { headers: { cookie } })).text();
    expect(en).toContain('Draft box');

    const post = (path: string, form: Record<string, string>, headers: Record<string, string> = { origin }) =>
      fetch(`${w.adminUrl}${path}`, { method: 'POST', headers: { cookie, ...headers }, body: new URLSearchParams(form), redirect: 'manual' });
    // No token, a wrong token, another origin: refused, and WeChat is not called.
    const calls = w.sandbox.counters.get('/wxa/addtotemplate');
    expect((await post('/templates', { draft_id: '2' })).status).toBe(403);
    expect((await post('/templates', { draft_id: '2', csrf: `${csrf}x` })).status).toBe(403);
    expect((await post('/templates', { draft_id: '2', csrf }, { origin: 'https://evil.example' })).status).toBe(403);
    expect(w.sandbox.counters.get('/wxa/addtotemplate')).toBe(calls);

    const added = await post('/templates', { draft_id: '2', template_type: '0', csrf });
    expect(added.status).toBe(303);
    const location = added.headers.get('location')!;
    expect(location).toMatch(/^\/templates\?added=\d+$/);
    const id = location.split('=')[1]!;
    const shown = await (await fetch(`${w.adminUrl}${location}`, { headers: { cookie } })).text();
    expect(shown).toContain(`已添加为模板 ${id}。`);
    expect(shown).toMatch(new RegExp(`<tr data-template="${id}">`));
    expect(shown).toContain(`已在模板库（模板 ${id}）`);

    const removed = await post(`/templates/${id}/delete`, { csrf });
    expect(removed.headers.get('location')).toBe(`/templates?deleted=${id}`);
    const again = await post(`/templates/${id}/delete`, { csrf });
    const error = await (await fetch(`${w.adminUrl}${again.headers.get('location')!}`, { headers: { cookie } })).text();
    expect(error).toContain('id="templates-error"');
    expect(error).toContain('85064');
    expect(((await (await w.api('/api/v1/templates')).json()) as { count: number }).count).toBe(0);
    // The nav leads here from every page.
    expect(await (await fetch(`${w.adminUrl}/`, { headers: { cookie } })).text()).toContain('<a href="/templates">代码模板</a>');
  });
});
