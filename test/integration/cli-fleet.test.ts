import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, oneLine, startProject, wxopen, type ServeProcess } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';

beforeAll(() => ensureBuilt(), 180_000);

describe('wxopen templates and wxopen deploy (after npm start, against the embedded sandbox)', { timeout: 180_000 }, () => {
  let server: ServeProcess;
  let dir: string;
  beforeAll(async () => {
    ({ dir, server } = await startProject('wxopen-fleet-cli-'));
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('drafts, add, list, delete; --json is machine-readable; failures are one line with the errcode', async () => {
    const run = (...args: string[]) => wxopen(['templates', ...args], { cwd: dir });
    const drafts = await run('drafts');
    expect(drafts.status, drafts.stderr).toBe(0);
    expect(drafts.stdout).toMatch(/^DRAFT\s+VERSION/);
    expect(drafts.stdout).toMatch(/\n2\s+1\.1\.0\s+.*新增会员页/);
    const draftsJson = JSON.parse((await run('drafts', '--json')).stdout) as Array<{ draft_id: number; template_ids: number[] }>;
    expect(draftsJson.map((d) => d.draft_id)).toEqual([2, 1]);

    const empty = await run('list');
    expect(empty.stdout).toContain('0 of 200 templates');

    const added = await run('add', '2', '--json');
    expect(added.status, added.stderr).toBe(0);
    const t = JSON.parse(added.stdout) as { template_id: number; draft_id: number; user_version: string };
    expect(t).toMatchObject({ draft_id: 2, user_version: '1.1.0' });
    const human = await run('add', '1');
    expect(human.stdout).toMatch(/^added draft 1 as template \d+ \(1\.0\.0\)\n$/);

    const list = await run('list');
    expect(list.stdout).toContain('2 of 200 templates');
    expect(list.stdout).toMatch(new RegExp(`\\n${t.template_id}\\s+1\\.1\\.0\\s+normal\\s+2\\s`));
    const listJson = JSON.parse((await run('list', '--json')).stdout) as { limit: number; count: number; templates: Array<{ template_id: number }> };
    expect(listJson).toMatchObject({ limit: 200, count: 2 });

    const del = await run('delete', String(t.template_id));
    expect(del.stdout).toBe(`deleted template ${t.template_id}\n`);
    const again = await run('delete', String(t.template_id));
    expect(again.status).toBe(1);
    expect(oneLine(again.stderr)).toBe(`wxopen: no template ${t.template_id} in the library (WeChat 85064) (WXO_ERR_TEMPLATE_NOT_FOUND)`);
    const noDraft = await run('add', '999');
    expect(oneLine(noDraft.stderr)).toMatch(/no draft 999 .*85064/);
    const bad = await run('add', 'abc');
    expect(oneLine(bad.stderr)).toBe('wxopen: draft_id must be a whole number (0 or more), not "abc" (WXO_ERR_USAGE)');
    const negative = await run('add', '-1');
    expect(oneLine(negative.stderr)).toBe('wxopen: draft_id must be a whole number (0 or more), not "-1" (WXO_ERR_USAGE)');
    // --json: a failure is a JSON object on standard output too, so `… --json | jq` reads it.
    const badJson = await run('add', 'abc', '--json');
    expect(badJson.status).toBe(1);
    expect(JSON.parse(badJson.stdout)).toEqual({ error: 'WXO_ERR_USAGE', message: 'draft_id must be a whole number (0 or more), not "abc"' });
    expect(oneLine(badJson.stderr)).toBe(oneLine(bad.stderr));
    const help = await wxopen(['templates', '--help'], { cwd: dir });
    expect(help.stdout).toMatch(/drafts[\s\S]*list[\s\S]*add[\s\S]*delete/);
  });

  it('deploy: create with a CSV ext_json and watch (plain lines when piped), status, report, list; one-line failures', async () => {
    const token = /admin token\s+(\S+)/.exec(server.out)![1]!;
    const sandbox = (path: string, body: unknown) =>
      fetch(`${server.sandboxUrl}/sandbox/admin${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    const COFFEE = 'wx5c9d0e3a7f1b2846';
    const LEDGER = 'wx2e6f8a1c4b7d9035';
    for (const appid of [COFFEE, LEDGER]) expect((await sandbox('/authorize', { appid, func_ids: [17, 18] })).status).toBe(200);
    expect((await sandbox('/audit-outcome', { appid: LEDGER, outcome: 'fail', reason: '缺少隐私协议' })).status).toBe(200);
    await until('both authorizers stored', async () => {
      const r = await wxopen(['token', 'authorizer', LEDGER, '--json'], { cwd: dir });
      return r.status === 0 ? true : undefined;
    }, { intervalMs: 200 });
    const t = JSON.parse((await wxopen(['templates', 'add', '2', '--json'], { cwd: dir })).stdout) as { template_id: number };

    writeFileSync(join(dir, 'ext.csv'), `appid,ext_json\n${COFFEE},"{""extAppid"":""${COFFEE}"",""ext"":{""shop"":""青木""}}"\n`);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ [COFFEE]: '{oops' }));
    const deploy = (...args: string[]) => wxopen(['deploy', ...args], { cwd: dir });

    const noTargets = await deploy('create', '--template', String(t.template_id), '--user-version', '1.0.0');
    expect(noTargets.status).toBe(1);
    expect(oneLine(noTargets.stderr)).toBe('wxopen: choose the targets with exactly one of --all, --appid <appid...> or --filter <expr> (WXO_ERR_USAGE)');
    const invalid = await deploy('create', '--template', String(t.template_id), '--user-version', '1.0.0', '--all', '--ext-json', 'bad.json');
    expect(invalid.status).toBe(1);
    expect(oneLine(invalid.stderr)).toMatch(new RegExp(`^wxopen: invalid deploy .*${COFFEE}.*\\(WXO_ERR_FLEET_VALIDATION\\)$`));
    const missing = t.template_id + 99;
    const unknownTemplate = await deploy('create', '--template', String(missing), '--user-version', '1.0.0', '--all');
    expect(unknownTemplate.status).toBe(1);
    expect(oneLine(unknownTemplate.stderr)).toBe(
      `wxopen: invalid deploy (1 problem): templateId: template ${missing} is not in the template library (wxopen templates list) (WXO_ERR_FLEET_VALIDATION)`,
    );
    expect(JSON.parse((await deploy('list', '--json')).stdout)).toEqual([]);
    const counters = (await (await fetch(`${server.sandboxUrl}/sandbox/admin/counters`, { headers: { authorization: `Bearer ${token}` } })).json()) as { byPath: Record<string, number> };
    expect(counters.byPath['/wxa/commit'] ?? 0).toBe(0);

    // Watch while WeChat's audit time passes on the sandbox clock.
    // The clock moves only once the watcher itself has printed both merchants in audit: it polls, so a state seen
    // by another command may not have reached its output yet.
    let watched = '';
    const running = wxopen(['deploy', 'create', '--template', String(t.template_id), '--user-version', '1.0.0', '--user-desc', '首发', '--all', '--ext-json', 'ext.csv', '--ext-json-default', '{"ext":{"shop":"默认"}}'], {
      cwd: dir,
      onStdout: (soFar) => (watched = soFar),
    });
    await until('both in audit', async () => {
      const jobs = JSON.parse((await deploy('list', '--json')).stdout) as Array<{ id: string }>;
      if (jobs.length === 0) return undefined;
      const s = JSON.parse((await deploy('status', jobs[0]!.id, '--json')).stdout) as { counts: Record<string, number> };
      return s.counts.audit_submitted === 2 ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 200 });
    await until('the watcher printed both in audit', async () => (/ running: .*auditing 2/.test(watched) ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 });
    expect((await sandbox('/clock/advance', { seconds: 61 })).status).toBe(200);
    const r = await running;
    expect(r.status, r.stderr).toBe(2);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^job fj_[0-9a-f]+: template \d+ 1\.0\.0 to 2 mini programs \(running in the server\)$/);
    const id = /^job (fj_[0-9a-f]+)/.exec(lines[0]!)![1]!;
    expect(r.stdout).not.toMatch(/[\r\u001b]/);
    expect(lines.some((l) => l.startsWith(`${id} running: `) && l.includes('auditing 2'))).toBe(true);
    expect(r.stdout).toContain(`job ${id}: done; 2/2 settled; released 1 · rejected 1`);
    expect(r.stdout).toContain(`  ${LEDGER} rejected: 缺少隐私协议`);
    expect(r.stdout).toContain(`retry them with: wxopen deploy retry ${id}`);

    const csv = await deploy('report', id, '--format', 'csv');
    expect(csv.stdout.split('\n')[0]).toBe('appid,state,auditid,errcode,errmsg,error_step,reason,updated_at');
    expect(csv.stdout).toMatch(new RegExp(`\n${COFFEE},released,\\d+,`));
    const json = JSON.parse((await deploy('report', id)).stdout) as { job: { id: string; status: string }; targets: Array<{ appid: string; ext_json: string }> };
    expect(json.job).toMatchObject({ id, status: 'done' });
    expect(JSON.parse(json.targets.find((x) => x.appid === LEDGER)!.ext_json)).toEqual({ ext: { shop: '默认' } });
    const status = await deploy('status', id);
    expect(status.stdout).toContain(`job ${id}: done; 2/2 settled`);
    expect(oneLine((await deploy('status', 'fj_nope')).stderr)).toBe('wxopen: no deploy job fj_nope (WXO_ERR_FLEET_NOT_FOUND)');
    expect(oneLine((await deploy('report', id, '--format', 'xml')).stderr)).toBe('wxopen: --format must be json or csv (WXO_ERR_USAGE)');
    const list = await deploy('list');
    expect(list.stdout).toMatch(new RegExp(`^${id}  done `));
    const undo = await deploy('undo', id, '--json');
    expect(JSON.parse(undo.stdout)).toMatchObject({ done: [], failed: [] });
    const setExt = await deploy('ext-json', 'set', COFFEE, `{"extAppid":"${COFFEE}","ext":{"shop":"青木"}}`);
    expect(setExt.stdout).toBe(`stored ext_json for ${COFFEE}\n`);
    expect(JSON.parse((await deploy('ext-json', 'get', COFFEE)).stdout)).toEqual({ extAppid: COFFEE, ext: { shop: '青木' } });
    expect(oneLine((await deploy('ext-json', 'set', LEDGER, `{"extAppid":"${COFFEE}"}`)).stderr)).toBe(
      `wxopen: invalid ext_json (1 problem): ${LEDGER} extJson: extAppid is "${COFFEE}", not this merchant (WXO_ERR_FLEET_VALIDATION)`,
    );
    // Not an appid: refused, nothing stored under it.
    expect(oneLine((await deploy('ext-json', 'set', 'notanappid', '{}')).stderr)).toBe('wxopen: notanappid is not an appid (wx and 16 letters or digits) (WXO_ERR_USAGE)');
    expect((await deploy('ext-json', 'delete', COFFEE)).stdout).toBe(`deleted ext_json of ${COFFEE}\n`);
    expect(oneLine((await deploy('ext-json', 'get', COFFEE)).stderr)).toBe(`wxopen: no stored ext_json for ${COFFEE} (WXO_ERR_NOT_FOUND)`);
    const help = await deploy('--help');
    expect(help.stdout).toMatch(/create[\s\S]*status[\s\S]*report[\s\S]*retry[\s\S]*undo[\s\S]*rollback/);

    // At the default log level too, a command's standard output is only its answer: its log lines go to stderr.
    const detached = await wxopen(['deploy', 'create', '--template', String(t.template_id), '--user-version', '1.0.1', '--all', '--detach', '--json'], {
      cwd: dir,
      env: { LOG_LEVEL: 'info' },
    });
    expect(detached.status, detached.stderr).toBe(0);
    expect(JSON.parse(detached.stdout)).toMatchObject({ total: 2, job: expect.objectContaining({ status: 'running' }) });
  });
});
