import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAccounts } from '../../src/sandbox/accounts.js';
import { ADMIN_TOKEN, startAdminWorld, type AdminWorld } from '../helpers/admin-world.js';
import { until } from '../helpers/wait.js';

const COFFEE = 'wx5c9d0e3a7f1b2846'; // 青木咖啡点单
const LEDGER = 'wx2e6f8a1c4b7d9035'; // 随手记账本: its audit is rejected
const NAMELESS = 'wx7d3b5f9e2a6c1048'; // no nickname: submit_audit answers 86002
const BAKERY = 'wx61b0c2d3e4f5a6b7'; // 麦香烘焙: commit answers 85013 once (injected)
const OA = 'wx3a7f2c9e1b4d6f80'; // an official account: never a target

interface Progress {
  job: { id: string; status: string; total: number; template_id: number; user_version: string; pause: unknown };
  total: number;
  counts: Record<string, number>;
  settled: number;
  rate_per_second: number;
  eta_seconds: number | null;
  failures: Array<{ appid: string; state: string; errcode: number | null; reason: string }>;
}

async function login(w: AdminWorld): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${w.adminUrl}/login`, { method: 'POST', body: new URLSearchParams({ token: ADMIN_TOKEN, next: '/deploys' }), redirect: 'manual' });
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const page = await (await fetch(`${w.adminUrl}/deploys/new`, { headers: { cookie } })).text();
  return { cookie, csrf: /name="csrf" value="([^"]+)"/.exec(page)![1]! };
}

describe('deploy jobs through the admin API and the dashboard, against the sandbox', { timeout: 90_000 }, () => {
  let w: AdminWorld;
  let templateId: number;
  const progress = async (id: string) => (await (await w.api(`/api/v1/deploys/${id}`)).json()) as Progress;

  beforeAll(async () => {
    const bakery = { appid: BAKERY, userName: 'gh_0a1b2c3d4e5f', nickName: '麦香烘焙', type: 'miniprogram' as const, principalName: '广州麦香食品有限公司', categories: defaultAccounts().find((a) => a.appid === COFFEE)!.categories };
    w = await startAdminWorld({ fleet: { scanMs: 50 }, sandbox: { accounts: [...defaultAccounts(), bakery] } });
    await w.settle();
    for (const appid of [COFFEE, LEDGER, NAMELESS, BAKERY]) await w.sandbox.authorize(appid, [17, 18]);
    await w.sandbox.authorize(OA, [1, 15]);
    await w.settle();
    const t = (await (await w.api('/api/v1/templates', { method: 'POST', body: JSON.stringify({ draft_id: 2 }) })).json()) as { template_id: number };
    templateId = t.template_id;
  });
  afterAll(async () => {
    await w?.close();
  });

  it('refuses an invalid deploy with every problem listed, and stores nothing', async () => {
    const res = await w.api('/api/v1/deploys', {
      method: 'POST',
      body: JSON.stringify({
        template_id: templateId,
        user_version: 'v'.repeat(64),
        targets: { appids: [COFFEE, 'wx0000000000000000'] },
        ext_json: { by_appid: { [COFFEE]: '{not json' } },
      }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; issues: Array<{ appid?: string; field: string; problem: string }> };
    expect(body.error).toBe('WXO_ERR_FLEET_VALIDATION');
    expect(body.issues.map((i) => i.appid)).toEqual(expect.arrayContaining([COFFEE, 'wx0000000000000000']));
    expect((await w.api('/api/v1/deploys', { method: 'POST', body: JSON.stringify({ template_id: templateId, user_version: '1', targets: { all: true, appids: [COFFEE] } }) })).status).toBe(400);
    // A deploy's ext_json file that cannot be read as one is named as such.
    for (const [file, message] of [
      [{ format: 'csv', content: 'appid\n' }, 'invalid ext_json file (1 problem): file: CSV needs a header with appid and ext_json columns'],
      [{ format: 'json', content: '[]' }, 'invalid ext_json file (1 problem): file: must be an object keyed by appid'],
      [{ format: 'csv', content: `appid,ext_json\n${COFFEE},{}\n${COFFEE},{}\n` }, `invalid ext_json file (1 problem): ${COFFEE} line 3: appid appears twice`],
    ] as const) {
      const res = await w.api('/api/v1/deploys', { method: 'POST', body: JSON.stringify({ template_id: templateId, user_version: '1.0.0', targets: { all: true }, ext_json: { file } }) });
      expect([res.status, await res.json()]).toEqual([400, expect.objectContaining({ error: 'WXO_ERR_FLEET_VALIDATION', message })]);
    }
    expect(((await (await w.api('/api/v1/deploys')).json()) as { jobs: unknown[] }).jobs).toEqual([]);
    expect(w.sandbox.counters.get('/wxa/commit')).toBe(0);
  });

  it('refuses a template id that is not in the template library: 400, nothing stored, no commit sent', async () => {
    const missing = templateId + 99;
    const res = await w.api('/api/v1/deploys', { method: 'POST', body: JSON.stringify({ template_id: missing, user_version: '1.0.0', targets: { all: true } }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'WXO_ERR_FLEET_VALIDATION',
      message: `invalid deploy (1 problem): templateId: template ${missing} is not in the template library (wxopen templates list)`,
      issues: [{ field: 'templateId', problem: `template ${missing} is not in the template library (wxopen templates list)` }],
    });
    expect(((await (await w.api('/api/v1/deploys')).json()) as { jobs: unknown[] }).jobs).toEqual([]);
    expect(w.sandbox.counters.get('/wxa/commit')).toBe(0);
  });

  it('creates no job when the template library cannot be read: 502, a retryable error, nothing stored or sent', async () => {
    w.sandbox.faults.set('/wxa/gettemplatelist', { type: 'drop' });
    try {
      const res = await w.api('/api/v1/deploys', { method: 'POST', body: JSON.stringify({ template_id: templateId, user_version: '1.0.0', targets: { all: true } }) });
      expect(res.status).toBe(502);
      const body = (await res.json()) as { error: string; message: string };
      expect(body.error).toBe('WXO_ERR_FLEET_TEMPLATE_CHECK');
      expect(body.message).toMatch(new RegExp(`^cannot check template ${templateId} against the template library \\(.*gettemplatelist.*\\); no deploy job was created, try again$`));
    } finally {
      w.sandbox.faults.clear('/wxa/gettemplatelist');
    }
    expect(((await (await w.api('/api/v1/deploys')).json()) as { jobs: unknown[] }).jobs).toEqual([]);
    expect(w.sandbox.counters.get('/wxa/commit')).toBe(0);
  });

  it('runs a job to the end: released, rejected with WeChat reason, failed with errcode; report as JSON and CSV; retry', async () => {
    w.sandbox.setAuditOutcome(LEDGER, 'fail', '小程序页面内容不完整<br>请补充后重新提交');
    w.sandbox.faults.set('/wxa/commit', { type: 'body', body: { errcode: 85013, errmsg: 'invalid ext_json' }, times: 1, appid: BAKERY });
    const csv = `appid,ext_json\n${COFFEE},"{""extAppid"":""${COFFEE}"",""ext"":{""shop"":""青木""}}"\n`;
    const created = await w.api('/api/v1/deploys', {
      method: 'POST',
      body: JSON.stringify({
        template_id: templateId,
        user_version: '1.1.0',
        user_desc: '新增会员页',
        targets: { all: true },
        ext_json: { file: { format: 'csv', content: csv }, default: { ext: { shop: 'default' } } },
        options: { concurrency: 4 },
      }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const first = (await created.json()) as Progress;
    const id = first.job.id;
    expect(first.job).toMatchObject({ template_id: templateId, user_version: '1.1.0', status: 'running' });
    // Every authorized mini program with set 18, never the official account.
    expect(first.total).toBe(4);

    // Everyone in audit (or failed before it); then WeChat's audit time passes and the pushes arrive.
    await until('commits and submissions', async () => {
      const p = await progress(id);
      return p.counts.audit_submitted === 2 && p.counts.failed === 2 ? p : undefined;
    }, { state: () => progress(id) });
    await w.sandbox.advance(61_000);
    const done = await until('the job to finish', async () => {
      const p = await progress(id);
      return p.job.status === 'done' ? p : undefined;
    });
    expect(done.counts).toMatchObject({ released: 1, rejected: 1, failed: 2, pending: 0, audit_submitted: 0 });
    expect(done.settled).toBe(4);
    expect(done.failures).toEqual(
      expect.arrayContaining([
        { appid: LEDGER, state: 'rejected', errcode: null, reason: '小程序页面内容不完整<br>请补充后重新提交' },
        expect.objectContaining({ appid: NAMELESS, state: 'failed', errcode: 86002 }),
        expect.objectContaining({ appid: BAKERY, state: 'failed', errcode: 85013 }),
      ]),
    );

    const report = (await (await w.api(`/api/v1/deploys/${id}/report`)).json()) as { targets: Array<{ appid: string; state: string; ext_json: string; auditid: number | null }> };
    const coffee = report.targets.find((t) => t.appid === COFFEE)!;
    expect(coffee.state).toBe('released');
    expect(JSON.parse(coffee.ext_json)).toEqual({ extAppid: COFFEE, ext: { shop: '青木' } });
    expect(coffee.auditid).toEqual(expect.any(Number));
    expect(JSON.parse(report.targets.find((t) => t.appid === LEDGER)!.ext_json)).toEqual({ ext: { shop: 'default' } });
    const csvRes = await w.api(`/api/v1/deploys/${id}/report?format=csv`);
    expect(csvRes.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await csvRes.text()).trim().split('\n');
    expect(lines[0]).toBe('appid,state,auditid,errcode,errmsg,error_step,reason,updated_at');
    expect(lines).toHaveLength(5);
    expect(lines.find((l) => l.startsWith(NAMELESS))).toMatch(/,failed,,86002,/);
    const rejected = (await (await w.api(`/api/v1/deploys/${id}/targets?state=rejected`)).json()) as { targets: Array<{ appid: string }> };
    expect(rejected.targets.map((t) => t.appid)).toEqual([LEDGER]);

    // The merchant fixes the ext_json problem; a retry commits it again (once) and carries it through.
    const commits = w.sandbox.counters.get('/wxa/commit', BAKERY);
    const retried = (await (await w.api(`/api/v1/deploys/${id}/retry`, { method: 'POST', body: JSON.stringify({ appids: [BAKERY] }) })).json()) as { retried: string[] };
    expect(retried.retried).toEqual([BAKERY]);
    await until('the retried merchant in audit', async () => ((await progress(id)).counts.audit_submitted === 1 ? true : undefined));
    expect(w.sandbox.counters.get('/wxa/commit', BAKERY)).toBe(commits + 1);
    await w.sandbox.advance(61_000);
    const after = await until('the retry to finish', async () => {
      const p = await progress(id);
      return p.job.status === 'done' ? p : undefined;
    }, { state: async () => [await progress(id), ((await (await w.api(`/api/v1/deploys/${id}/report`)).json()) as { targets: unknown[] }).targets] });
    expect(after.counts).toMatchObject({ released: 2, rejected: 1, failed: 1 });

    // A first release has no earlier version: WeChat refuses each rollback (87012), reported per merchant.
    const rolled = (await (await w.api(`/api/v1/deploys/${id}/rollback`, { method: 'POST', body: '{}' })).json()) as { done: string[]; failed: Array<{ appid: string; errcode: number }> };
    expect(rolled.done).toEqual([]);
    expect(rolled.failed.map((f) => [f.appid, f.errcode]).sort()).toEqual([
      [COFFEE, 87012],
      [BAKERY, 87012],
    ].sort());
    expect((await progress(id)).counts.released).toBe(2);
    const audit = (await (await w.api(`/api/v1/audit?target=${id}`)).json()) as { entries: Array<{ action: string }> };
    expect(audit.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['deploy.create', 'deploy.retry', 'deploy.rollback']));
  });

  it('scopes, 404s and the OpenAPI document', async () => {
    expect((await w.api('/api/v1/deploys/fj_nope')).status).toBe(404);
    const reader = ((await (await w.api('/api/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'ro', scopes: ['deploy:read'] }) })).json()) as { key: string }).key;
    expect((await w.api('/api/v1/deploys', { token: reader })).status).toBe(200);
    expect((await w.api('/api/v1/deploys', { token: reader, method: 'POST', body: JSON.stringify({ template_id: templateId, user_version: '1', targets: { all: true } }) })).status).toBe(403);
    const narrow = ((await (await w.api('/api/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'n', scopes: ['deploy:read'], authorizers: [COFFEE] }) })).json()) as { key: string }).key;
    expect((await w.api('/api/v1/deploys', { token: narrow })).status).toBe(403);
    const doc = (await (await w.api('/docs/json')).json()) as { paths: Record<string, unknown> };
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/deploys', '/api/v1/deploys/{id}', '/api/v1/deploys/{id}/report', '/api/v1/deploys/{id}/retry', '/api/v1/deploys/{id}/rollback', '/api/v1/deploys/{id}/undo']),
    );
  });

  it("stores each merchant's ext_json for later jobs, checked as a deploy would", async () => {
    const put = (appid: string, ext_json: unknown) => w.api(`/api/v1/authorizers/${appid}/ext-json`, { method: 'PUT', body: JSON.stringify({ ext_json }) });
    const bad = await put(LEDGER, { extAppid: COFFEE });
    expect(bad.status).toBe(400);
    // Named as what it is: no deploy was involved.
    expect(await bad.json()).toEqual({
      error: 'WXO_ERR_FLEET_VALIDATION',
      message: `invalid ext_json (1 problem): ${LEDGER} extJson: extAppid is "${COFFEE}", not this merchant`,
      issues: [{ appid: LEDGER, field: 'extJson', problem: `extAppid is "${COFFEE}", not this merchant` }],
    });
    const stored = await put(LEDGER, { extAppid: LEDGER, ext: { shop: '随手' } });
    expect(stored.status).toBe(200);
    expect(JSON.parse(((await stored.json()) as { ext_json: string }).ext_json)).toEqual({ extAppid: LEDGER, ext: { shop: '随手' } });
    expect(((await (await w.api('/api/v1/ext-json')).json()) as { ext_json: Array<{ appid: string }> }).ext_json.map((e) => e.appid)).toContain(LEDGER);
    // A commit-only job picks it up.
    const created = (await (await w.api('/api/v1/deploys', { method: 'POST', body: JSON.stringify({ template_id: templateId, user_version: '1.1.1', targets: { appids: [LEDGER] }, options: { submit_audit: false } }) })).json()) as Progress;
    await until('the commit', async () => ((await progress(created.job.id)).job.status === 'done' ? true : undefined));
    const report = (await (await w.api(`/api/v1/deploys/${created.job.id}/report`)).json()) as { targets: Array<{ state: string; ext_json: string }> };
    expect(report.targets.map((t) => [t.state, JSON.parse(t.ext_json)])).toEqual([['committed', { extAppid: LEDGER, ext: { shop: '随手' } }]]);
    expect((await w.api(`/api/v1/authorizers/${LEDGER}/ext-json`, { method: 'DELETE' })).status).toBe(200);
    expect((await w.api(`/api/v1/authorizers/${LEDGER}/ext-json`)).status).toBe(404);
  });

  it('dashboard: create from the form, the job page in Chinese with counts, failures with reasons and the retry button', async () => {
    const { cookie, csrf } = await login(w);
    const origin = w.adminUrl;
    const post = (path: string, form: Record<string, string>) => fetch(`${w.adminUrl}${path}`, { method: 'POST', headers: { cookie, origin }, body: new URLSearchParams(form), redirect: 'manual' });
    // A bad ext_json is shown on the form, nothing is created.
    const bad = await post('/deploys', { csrf, template_id: String(templateId), user_version: '1.2.0', targets: 'list', appids: `${COFFEE}\n${LEDGER}`, ext_json: '[1]', submit_audit: 'on', release: 'on', submitted: '1' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('id="deploy-issues"');
    expect((await post('/deploys', { template_id: String(templateId), user_version: '1.2.0' })).status).toBe(403);

    w.sandbox.setAuditOutcome(LEDGER, 'fail', '功能不完整');
    const ok = await post('/deploys', { csrf, template_id: String(templateId), user_version: '1.2.0', user_desc: '春季菜单', targets: 'list', appids: `${COFFEE}\n${LEDGER}`, submit_audit: 'on', release: 'on', submitted: '1' });
    expect(ok.status).toBe(303);
    const location = ok.headers.get('location')!;
    const id = location.split('/').pop()!;
    await until('both in audit', async () => ((await progress(id)).counts.audit_submitted === 2 ? true : undefined));
    const running = await (await fetch(`${w.adminUrl}${location}`, { headers: { cookie } })).text();
    expect(running).toContain('<meta http-equiv="refresh" content="5">');
    expect(running).toMatch(/data-state="audit_submitted">.*?审核中.*?<div class="n[^"]*">2</s);
    expect(running).toContain('撤回审核');
    await w.sandbox.advance(61_000);
    await until('the job to finish', async () => ((await progress(id)).job.status === 'done' ? true : undefined));

    const page = await (await fetch(`${w.adminUrl}${location}`, { headers: { cookie } })).text();
    expect(page).toContain('<html lang="zh-CN">');
    expect(page).toContain(`部署任务 ${id}`);
    expect(page).toContain('2 / 2 个商家已结束（100%）');
    expect(page).toMatch(/<table id="job-failures">.*随手记账本.*审核驳回.*功能不完整/s);
    expect(page).not.toContain('http-equiv="refresh"');
    expect(page).toContain(`action="/deploys/${id}/retry"`);
    const en = await (await fetch(`${w.adminUrl}${location}?lang=en`, { headers: { cookie } })).text();
    expect(en).toContain('Failures and rejections');

    const csvReport = await fetch(`${w.adminUrl}/deploys/${id}/report.csv`, { headers: { cookie } });
    expect((await csvReport.text()).split('\n')[0]).toBe('appid,state,auditid,errcode,errmsg,error_step,reason,updated_at');

    const commits = w.sandbox.counters.get('/wxa/commit', LEDGER);
    w.sandbox.setAuditOutcome(LEDGER, 'success');
    const retry = await post(`/deploys/${id}/retry`, { csrf });
    expect(retry.headers.get('location')).toBe(`/deploys/${id}?done=retry&n=1`);
    expect(await (await fetch(`${w.adminUrl}${retry.headers.get('location')!}`, { headers: { cookie } })).text()).toContain('已重新排队 1 个商家。');
    await until('the retried merchant in audit', async () => ((await progress(id)).counts.audit_submitted === 1 ? true : undefined));
    expect(w.sandbox.counters.get('/wxa/commit', LEDGER)).toBe(commits + 1);

    // Withdraw the audit from the page; roll back the second release of 青木咖啡点单 to the first.
    const undo = await post(`/deploys/${id}/undo`, { csrf });
    expect(undo.headers.get('location')).toMatch(new RegExp(`^/deploys/${id}\\?done=undo&ok=1&skipped=\\d+&failed=0$`));
    expect((await progress(id)).counts.withdrawn).toBe(1);
    const rollback = await post(`/deploys/${id}/rollback`, { csrf });
    expect(rollback.headers.get('location')).toMatch(new RegExp(`^/deploys/${id}\\?done=rollback&ok=1&skipped=\\d+&failed=0$`));
    const rolledPage = await (await fetch(`${w.adminUrl}${rollback.headers.get('location')!}`, { headers: { cookie } })).text();
    expect(rolledPage).toMatch(/完成 1 个，跳过 \d+ 个，失败 0 个。/);
    expect((await progress(id)).counts.reverted).toBe(1);

    const list = await (await fetch(`${w.adminUrl}/deploys`, { headers: { cookie } })).text();
    expect(list).toContain(`<tr data-job="${id}">`);
    expect(list).toContain('新建部署');
  });
});
