/**
 * `npm run bench:fleet`: one deploy job to FLEET_N mini programs (default 5000) against the in-repo WeChat
 * sandbox, with a fleet-wide rate of FLEET_RATE calls per second (default 50) on each state-changing API
 * (wxa/commit, wxa/submit_audit, wxa/release).
 *
 * One process: the sandbox (loopback) and a createWxOpen server on a SQLite file that receives the audit
 * pushes and runs the embedded fleet runner. Audits finish at once (auditDelaySeconds 0), so the job is
 * bound by the rate: commit → submit → (push) → release, pipelined per merchant. Figures come from the
 * independent side (the sandbox's counters) and the wall clock:
 *   ideal time = max over the three APIs of (calls − the bucket's initial burst) / rate
 *   efficiency = ideal time / actual wall time (1.0 = the rate is the only limit)
 * The last line is `efficiency <number>`. FLEET_N=300 for a quick run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SANDBOX_COMPONENT, startSandbox, type SandboxAccount } from '../src/sandbox/index.js';
import { createWxOpen } from '../src/server/create.js';

const env = process.env;
const N = Math.max(1, Math.round(Number(env.FLEET_N ?? 5000)));
const RATE = Number(env.FLEET_RATE ?? 50);
const CONCURRENCY = Math.round(Number(env.FLEET_CONCURRENCY ?? 64));
const RATED = ['wxa/commit', 'wxa/submit_audit', 'wxa/release'];
const FOOD = { first_class: '餐饮服务', second_class: '点餐平台', first_id: 220, second_id: 221 };

function accounts(n: number): SandboxAccount[] {
  return Array.from({ length: n }, (_, i) => {
    const hex = i.toString(16).padStart(12, '0');
    return { appid: `wxbe${hex}00`, userName: `gh_be${hex}`, nickName: `门店${i}`, type: 'miniprogram', principalName: `商户${i}`, categories: [FOOD] };
  });
}

const dir = mkdtempSync(join(tmpdir(), 'wxopen-bench-fleet-'));
const sandbox = await startSandbox({
  // Not the public demo Token/EncodingAESKey: the platform runs in real mode, which refuses them.
  component: { ...DEFAULT_SANDBOX_COMPONENT, token: 'benchFleetToken42', encodingAesKey: 'YmVuY2hmbGVldGVuY29kaW5nYWVza2V5Zm9yd3hvcGV' },
  ticketIntervalMs: 0,
  auditDelaySeconds: 0,
  auditQuotaPerMonth: 1_000_000,
  quotas: { '*': 10_000_000 },
  accounts: accounts(N),
});
const c = sandbox.state.component;
const wx = await createWxOpen({
  config: {
    LOG_LEVEL: env.LOG_LEVEL ?? 'silent',
    WXOPEN_COMPONENT_APPID: c.appid,
    WXOPEN_COMPONENT_SECRET: c.secret,
    WXOPEN_TOKEN: c.token,
    WXOPEN_ENCODING_AES_KEY: c.encodingAesKey,
    WXOPEN_SECRET_KEY: 'ab'.repeat(32),
    WXOPEN_PUBLIC_URL: 'http://127.0.0.1:1',
    WXOPEN_DATABASE_URL: `sqlite:${join(dir, 'wx.db')}?synchronous=normal`,
    WXOPEN_API_BASE: sandbox.url,
    WXOPEN_API_BACKUP_BASES: '',
    WXOPEN_MP_BASE: sandbox.url,
    WXOPEN_OPEN_BASE: sandbox.url,
  },
  clock: sandbox.clock,
  refresher: false,
  ensureTicket: false,
  fleet: { scanMs: 200, retryBackoffMs: 100 },
});
try {
  const url = await wx.listen({ port: 0, host: '127.0.0.1' });
  wx.config.publicUrl = url;
  sandbox.setPlatform({ componentPushUrl: `${url}/wechat/component`, authorizerPushUrl: `${url}/wechat/authorizer/$APPID$` });
  await sandbox.settled();

  const setupStart = performance.now();
  const ids = sandbox.accounts.map((a) => a.appid);
  // Under heavy load a few code exchanges can fail (61009 after a timed-out first try): authorize those again.
  let missing = ids;
  for (let round = 0; missing.length > 0 && round < 3; round++) {
    for (let i = 0; i < missing.length; i += 32) await Promise.all(missing.slice(i, i + 32).map((a) => sandbox.authorize(a)));
    for (let seen = -1, n = 0; n !== seen; ) {
      seen = n;
      await new Promise((r) => setTimeout(r, 3000));
      n = (await wx.store.countAuthorizers(c.appid)).authorized;
      if (n >= N) break;
    }
    const have = new Set<string>();
    for (let after: string | undefined; ; ) {
      const page = await wx.store.listAuthorizers(c.appid, { status: 'authorized', limit: 1000, ...(after !== undefined && { after }) });
      for (const a of page) have.add(a.authorizerAppid);
      if (page.length < 1000) break;
      after = page[page.length - 1]!.authorizerAppid;
    }
    missing = ids.filter((a) => !have.has(a));
  }
  const draft = sandbox.addDraft({ user_version: '9.0.0' });
  const templateId = sandbox.state.templates.addToTemplate(draft.draft_id, 0).template_id;
  const setupS = (performance.now() - setupStart) / 1000;

  sandbox.counters.reset();
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const rates = RATED.map((api) => `${api}=${RATE}/s`).join(',');
  const t0 = performance.now();
  const clock0 = sandbox.clock.now();
  const cpu0 = process.cpuUsage();
  const job = await wx.fleet.createJob({
    templateId,
    userVersion: '9.0.0',
    userDesc: 'bench',
    targets: { all: true },
    extJson: { default: { ext: { bench: true } } },
    options: { concurrency: CONCURRENCY, rates, audit: { item_list: [{ address: 'pages/index/index', tag: '点餐', first_id: 220, second_id: 221, first_class: '餐饮服务', second_class: '点餐平台', title: '首页' }] } },
  });
  const watch = env.FLEET_WATCH
    ? setInterval(() => {
        void wx.fleet.progress(job.id).then((q) => process.stderr.write(`${((performance.now() - t0) / 1000).toFixed(1)}s ${JSON.stringify(Object.fromEntries(Object.entries(q.counts).filter(([, n]) => n > 0)))} ${JSON.stringify(sandbox.counters.all().byPath)}\n`));
      }, 1000)
    : undefined;
  const done = await wx.fleet.idle(job.id, 50);
  if (watch) clearInterval(watch);
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  clearInterval(sampler);

  const p = await wx.fleet.progress(job.id);
  const all = sandbox.counters.all().byPath;
  const calls = (api: string) => all[`/${api}`] ?? 0;
  const total = Object.values(all).reduce((a, b) => a + b, 0);
  // A token bucket starts full: the first RATE calls of each API need no waiting.
  const idealS = Math.max(...RATED.map((api) => Math.max(calls(api) - RATE, 0) / RATE));
  const efficiency = idealS / wallS;
  // Where the gap is: each rated API's achieved rate over the whole job, and the span in which it was called.
  const utilisation = RATED.map((api) => {
    const at = sandbox.counters.times(`/${api}`);
    if (at.length === 0) return `${api.slice(4)} 0 calls`;
    const from = (at[0]! - clock0) / 1000;
    const to = (at[at.length - 1]! - clock0) / 1000;
    const achieved = at.length / wallS;
    return `${api.slice(4)} ${achieved.toFixed(1)}/s of ${RATE} (${((100 * achieved) / RATE).toFixed(0)} %), called ${from.toFixed(1)}–${to.toFixed(1)} s`;
  }).join('; ');
  const other = Object.entries(all)
    .filter(([path]) => !RATED.includes(path.slice(1)))
    .map(([path, n]) => `${path.replace(/^\/(wxa|cgi-bin)\//, '')} ${n}`)
    .join(', ');
  process.stdout.write(
    [
      `fleet bench: ${N} mini programs, ${RATE}/s per API on ${RATED.join(', ')}, concurrency ${CONCURRENCY}, SQLite file, embedded runner`,
      `setup (authorize ${N} merchants): ${setupS.toFixed(1)} s${missing.length ? `; ${missing.length} could not be (code exchange 61009 under load), deployed to the other ${N - missing.length}` : ''}`,
      `job ${done.status}: ${Object.entries(p.counts).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(', ')}`,
      `wall time: ${wallS.toFixed(2)} s`,
      `upstream calls: ${total} (commit ${calls('wxa/commit')}, submit_audit ${calls('wxa/submit_audit')}, release ${calls('wxa/release')}; ${other || 'no others'})`,
      `peak RSS: ${(peakRss / 1024 / 1024).toFixed(0)} MB`,
      `CPU: ${cpuS.toFixed(1)} s over ${wallS.toFixed(1)} s wall (${((cpuS * 1000) / Math.max(total, 1)).toFixed(2)} ms per upstream call, sandbox included; load average ${loadavg()[0]!.toFixed(1)})`,
      `utilisation: ${utilisation}`,
      `ideal time at ${RATE}/s: ${idealS.toFixed(2)} s`,
      `efficiency ${efficiency.toFixed(3)}`,
    ].join('\n') + '\n',
  );
} finally {
  await wx.close();
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
}
