/**
 * `npm run bench:tokens`: the background refresher against the in-repo WeChat sandbox at scale.
 *
 * One process: the sandbox (simulated WeChat, on loopback) with TOKENS_AUTHORIZERS accounts, and a
 * wxopen Platform on SQLite whose clock is the sandbox clock. The sandbox clock runs on a frozen base,
 * so simulated time moves only by `advance()`: every authorizer is authorized at the same instant
 * (the worst case for synchronized expiry), then TOKENS_HOURS are simulated in steps of the refresher
 * interval, calling `platform.refresher.tick()` once per step. Every figure is what the independent
 * side saw: upstream calls and their per-second peak come from the sandbox's counters (each call stamped
 * on the sandbox clock; the refresher's pacing waits move that clock, one call at a time), and expiry is
 * the sandbox's verdict on the tokens a caller would be handed (`checkToken`, the rule every API applies).
 *
 * Env: TOKENS_AUTHORIZERS (default 10000), TOKENS_HOURS (default 24), TOKENS_BUDGET (refresher
 * maxPerSecond, default 20), TOKENS_DB (`file` (default): sqlite:<tmpdir>/tokens.db?synchronous=normal,
 * or `memory`), TOKENS_SPREAD_MIN (refresher spreadMs in minutes; default: the refresher's default).
 *
 * Exit code: 0 when the run completed (PASS/FAIL lines are a report); 1 if the setup failed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { DEFAULT_CREDENTIAL_OPTIONS } from '../src/credentials/context.js';
import { DEFAULT_REFRESHER_OPTIONS, type RefresherOptions } from '../src/credentials/refresher.js';
import { Platform } from '../src/platform.js';
import { startSandbox, type SandboxAccount } from '../src/sandbox/index.js';
import { createStore } from '../src/store/create-store.js';
import { createLogger } from '../src/util/logger.js';

const AAT = '/cgi-bin/component/api_authorizer_token';
const CAT = '/cgi-bin/component/api_component_token';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** WeChat's access-token lifetime (the sandbox's ACCESS_TOKEN_TTL_SECONDS). */
const TOKEN_TTL_MS = 7200 * 1000;
const TICKET_EVERY_MS = 10 * MINUTE;
const AUTH_CONCURRENCY = 16;

const env = process.env;
const num = (name: string, fallback: number): number => {
  const v = Number(env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const N = Math.round(num('TOKENS_AUTHORIZERS', 10_000));
const HOURS = num('TOKENS_HOURS', 24);
const BUDGET = num('TOKENS_BUDGET', 20);
const DB = env.TOKENS_DB ?? 'file';
/** Refresh starts waiting for their paced slot; the tick driver wakes them in order (see `runTick`). */
const sleepers: { at: number; wake: () => void }[] = [];
const REFRESHER: Partial<RefresherOptions> = {
  intervalMs: 60_000,
  maxPerSecond: BUDGET,
  concurrency: 16,
  sleepUntil: (at) => new Promise<void>((wake) => sleepers.push({ at, wake })),
  ...(env.TOKENS_SPREAD_MIN !== undefined && { spreadMs: num('TOKENS_SPREAD_MIN', 15) * MINUTE }),
};
const INTERVAL_MS = REFRESHER.intervalMs!;

/** Deterministic accounts shaped like src/sandbox/accounts.ts: `wx` + 16 hex, ~40 % official accounts. */
function generateAccounts(n: number): SandboxAccount[] {
  const seen = new Set<string>();
  const accounts: SandboxAccount[] = [];
  for (let i = 0; accounts.length < n; i++) {
    const appid = `wx${randomBytes(8).toString('hex')}`;
    if (seen.has(appid)) continue;
    seen.add(appid);
    const userName = `gh_${randomBytes(6).toString('hex')}`;
    if (i % 5 < 2) {
      accounts.push({
        appid,
        userName,
        nickName: `压测公众号${i + 1}`,
        type: 'official',
        principalName: `压测商户${i + 1}有限公司`,
        serviceTypeId: i % 3,
        verifyTypeId: i % 2 === 0 ? 0 : -1,
      });
    } else {
      accounts.push({
        appid,
        userName,
        nickName: `压测小程序${i + 1}`,
        type: 'miniprogram',
        principalName: `压测商户${i + 1}有限公司`,
        categories: [{ first_class: '工具', second_class: '效率', first_id: 287, second_id: 612 }],
      });
    }
  }
  return accounts;
}

const fmtSim = (ms: number): string => `${String(Math.floor(ms / HOUR)).padStart(2, '0')}:${String(Math.floor((ms % HOUR) / MINUTE)).padStart(2, '0')}`;
const fmtWall = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  const wallStart = performance.now();
  const accounts = generateAccounts(N);
  // Frozen base: simulated time is exactly what we advance, independent of how long the run takes.
  const BASE = Date.UTC(2025, 0, 6, 16, 0, 0); // 00:00 Beijing time, so quota days align with the run
  const sandbox = await startSandbox({
    ticketIntervalMs: 0,
    accounts,
    clock: { now: () => BASE },
    quotas: { '*': 1e12, [CAT]: 1e12 },
  });
  const dir = DB === 'memory' ? undefined : mkdtempSync(join(tmpdir(), 'wxopen-tokens-'));
  const databaseUrl = dir ? `sqlite:${join(dir, 'tokens.db')}?synchronous=normal` : 'sqlite::memory:';
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    WXOPEN_DATABASE_URL: databaseUrl,
    WXOPEN_API_BASE: sandbox.url,
    WXOPEN_API_BACKUP_BASES: '',
    WXOPEN_MP_BASE: sandbox.url,
    WXOPEN_OPEN_BASE: sandbox.url,
  });
  const store = await createStore(config.databaseUrl);
  const platform = new Platform({
    config,
    store,
    logger: createLogger({ level: env.TOKENS_LOG ?? 'silent' }),
    clock: sandbox.clock,
    http: { busyBackoffMs: 5, timeoutMs: 10_000 },
    credentials: { lockPollMs: 5 },
    refresher: REFRESHER,
  });
  const refresher = { ...DEFAULT_REFRESHER_OPTIONS, ...REFRESHER };
  const componentAppid = config.componentAppid;
  const clock = sandbox.clock;
  const t0 = clock.now();

  // No platform push URL is set on the sandbox, so its pushes (authorized…) fail and are only logged;
  // the ticket is stored here the way the push route would.
  let ticketAt = -Infinity;
  const pushTicket = async (): Promise<void> => {
    const ticket = await sandbox.pushTicket();
    const now = clock.now();
    const createTime = Math.floor(now / 1000);
    await store.recordTicket({ componentAppid, ticket, createTime, receivedAt: now });
    ticketAt = now;
  };

  console.log(`tokens: ${N} authorizers (${accounts.filter((a) => a.type === 'official').length} official accounts, ${accounts.filter((a) => a.type === 'miniprogram').length} mini programs), ${HOURS} h, store ${DB === 'memory' ? 'sqlite::memory:' : 'sqlite file, synchronous=normal'}`);
  console.log(
    `refresher: interval ${refresher.intervalMs / 1000} s, spread ${refresher.spreadMs / MINUTE} min, refresh-ahead ${DEFAULT_CREDENTIAL_OPTIONS.refreshAheadMs / MINUTE} min, ` +
      `concurrency ${refresher.concurrency}, budget ${BUDGET} calls/s (= ${Math.max(1, Math.floor((BUDGET * refresher.intervalMs) / 1000))} per tick)`,
  );

  // ---- setup: authorize everyone ----
  await pushTicket();
  const setupStart = performance.now();
  let next = 0;
  let done = 0;
  const authWorker = async (): Promise<void> => {
    while (next < accounts.length) {
      const account = accounts[next++]!;
      const { authCode } = await sandbox.authorize(account.appid);
      await platform.queryAuth(authCode, 'callback');
      if (++done % 1000 === 0 || done === N) console.log(`  authorized ${done}/${N} (${fmtWall(performance.now() - setupStart)})`);
    }
  };
  await Promise.all(Array.from({ length: AUTH_CONCURRENCY }, authWorker));
  const counts = await store.countAuthorizers(componentAppid);
  if (counts.authorized !== N) throw new Error(`expected ${N} authorized, store has ${JSON.stringify(counts)}`);
  const setupCalls = sandbox.counters.get('/cgi-bin/component/api_query_auth');
  const setupWall = performance.now() - setupStart;
  console.log(`setup: ${N} query_auth calls in ${fmtWall(setupWall)} (${(N / (setupWall / 1000)).toFixed(0)}/s wall)`);
  sandbox.counters.reset();

  /**
   * One refresher tick in simulated time: a paced start sleeps until its slot; the driver advances the
   * sandbox clock to the earliest slot and wakes that start only once the previous start's call has
   * reached the sandbox, so each call is stamped at the time the pacer chose for it.
   */
  const runTick = async (): Promise<Awaited<ReturnType<typeof platform.refresher.tick>>> => {
    let done = false;
    const tick = platform.refresher.tick().finally(() => (done = true));
    let mark = sandbox.counters.get(AAT);
    let idle = 0;
    while (!done) {
      await new Promise((r) => setImmediate(r));
      // Wait for the awake start's call (or, should it need none, a bounded number of turns).
      if (sandbox.counters.get(AAT) === mark && ++idle < 1000) continue;
      if (sleepers.length === 0) continue;
      sleepers.sort((a, b) => a.at - b.at);
      const next = sleepers.shift()!;
      if (next.at > clock.now()) clock.advance(next.at - clock.now());
      mark = sandbox.counters.get(AAT);
      idle = 0;
      next.wake();
    }
    return tick;
  };

  /** The sandbox's verdict on the token a caller would be handed for each of `appids`: how many it refuses. */
  const refusedBySandbox = async (records: Awaited<ReturnType<typeof store.listAuthorizers>>): Promise<number> => {
    let refused = 0;
    for (const a of records) {
      if (a.accessTokenEnc === null) {
        refused++;
        continue;
      }
      const token = platform.ctx.box.open(a.accessTokenEnc, `${componentAppid}:${a.authorizerAppid}`);
      try {
        sandbox.state.checkToken(token, 'authorizer');
      } catch {
        refused++;
      }
    }
    return refused;
  };

  // ---- simulation ----
  const simStart = performance.now();
  const steps = Math.round((HOURS * HOUR) / INTERVAL_MS);
  let peakPerSec = 0;
  let peakTickAt = 0;
  let peakWallRate = 0;
  let expiredObservations = 0;
  let fullChecks = 0;
  let expiredMax = 0;
  let minHeadroom = Infinity;
  let deferredTicks = 0;
  let deferredMax = 0;
  let failed = 0;
  let activeTicks = 0;
  let tickWallMs = 0;
  let checkWallMs = 0;
  let lastProgress = 0;
  const perTick: number[] = [];
  for (let step = 1; step <= steps; step++) {
    clock.advance(INTERVAL_MS);
    const now = clock.now();
    if (now - ticketAt >= TICKET_EVERY_MS) await pushTicket();

    // Before the tick: would WeChat refuse any token a caller gets now (not renewed in time)? Every
    // token once per simulated hour, and every tick the ones near expiry; plus how close to expiry the
    // least-fresh one is (under the refresh-ahead margin means a late renewal).
    const c0 = performance.now();
    const fullCheck = step % Math.round(HOUR / INTERVAL_MS) === 0;
    const close = await store.listAuthorizers(componentAppid, {
      status: 'authorized',
      ...(!fullCheck && { accessExpiringBefore: now + DEFAULT_CREDENTIAL_OPTIONS.refreshAheadMs }),
      limit: N + 1,
    });
    const expired = await refusedBySandbox(close);
    for (const a of close) minHeadroom = Math.min(minHeadroom, (a.accessExpiresAt ?? 0) - now);
    if (fullCheck) fullChecks++;
    if (expired > 0) expiredObservations++;
    expiredMax = Math.max(expiredMax, expired);
    checkWallMs += performance.now() - c0;

    const before = sandbox.counters.get(AAT);
    const w0 = performance.now();
    const r = await runTick();
    const wall = performance.now() - w0;
    tickWallMs += wall;
    const calls = sandbox.counters.get(AAT) - before;
    perTick.push(calls);
    failed += r.failed;
    if (r.deferred > 0) {
      deferredTicks++;
      deferredMax = Math.max(deferredMax, r.deferred);
    }
    if (calls > 0) activeTicks++;
    const perSec = calls / (INTERVAL_MS / 1000);
    if (perSec > peakPerSec) {
      peakPerSec = perSec;
      peakTickAt = now - t0;
    }
    if (calls >= 50) peakWallRate = Math.max(peakWallRate, calls / (wall / 1000));

    if (now - t0 - lastProgress >= 2 * HOUR || step === steps) {
      lastProgress = now - t0;
      const total = sandbox.counters.get(AAT);
      console.log(
        `  sim ${fmtSim(now - t0)}  api_authorizer_token ${total} (${(total / N).toFixed(2)}/authorizer)  api_component_token ${sandbox.counters.get(CAT)}  ` +
          `peak ${peakPerSec.toFixed(1)}/s  expired ${expiredMax}  wall ${fmtWall(performance.now() - wallStart)}`,
      );
    }
  }
  const simWall = performance.now() - simStart;

  // ---- results ----
  const perAuthorizer = accounts.map((a) => sandbox.counters.get(AAT, a.appid));
  const totalAat = sandbox.counters.get(AAT);
  const mean = totalAat / N;
  const min = Math.min(...perAuthorizer);
  const max = Math.max(...perAuthorizer);
  const days = HOURS / 24;
  const perDay = mean / days;
  const ahead = DEFAULT_CREDENTIAL_OPTIONS.refreshAheadMs;
  const idealLow = (24 * HOUR) / TOKEN_TTL_MS;
  const idealHigh = (24 * HOUR) / (TOKEN_TTL_MS - ahead);
  // What this configuration can do at best: each refresh at age TTL − ahead − jitter·spread (uniform),
  // plus on average half a tick of lag; the harmonic mean over the jitter.
  const withSpread = (24 * HOUR) / (TOKEN_TTL_MS - ahead - refresher.spreadMs / 2 + INTERVAL_MS / 2);
  const catCalls = sandbox.counters.get(CAT);
  // The per-second histogram of the calls the sandbox received (its clock, its counters).
  const perSecond = new Map<number, number>();
  for (const t of sandbox.counters.times(AAT)) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
  const pacedPeak = Math.max(0, ...perSecond.values());
  const budgetOk = pacedPeak <= BUDGET && peakPerSec <= BUDGET;
  const sorted = [...perTick].sort((a, b) => a - b);
  const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;

  console.log('');
  console.log('---- tokens summary ----');
  console.log(`authorizers               ${N}`);
  console.log(`simulated                 ${HOURS} h in ${steps} ticks of ${INTERVAL_MS / 1000} s (frozen base clock)`);
  console.log(`api_authorizer_token      ${totalAat} calls, ${(totalAat / days).toFixed(0)} per day`);
  console.log(`  per authorizer per day  mean ${perDay.toFixed(2)}, min ${(min / days).toFixed(2)}, max ${(max / days).toFixed(2)}`);
  console.log(`  ideal                   ${idealLow.toFixed(1)}–${idealHigh.toFixed(1)} (24 h / 2 h … 24 h / (2 h − ${ahead / MINUTE} min refresh-ahead))`);
  console.log(`  expected with spread    ≈${withSpread.toFixed(1)} (refresh at 2 h − ${ahead / MINUTE} min − jitter·${refresher.spreadMs / MINUTE} min, +½ tick lag)`);
  console.log(`api_component_token       ${catCalls} calls, ${(catCalls / days).toFixed(1)} per day`);
  console.log(`calls per tick            active ${activeTicks}/${steps} ticks, p99 ${p99}, max ${sorted[sorted.length - 1]} (at sim ${fmtSim(peakTickAt)})`);
  console.log(`peak calls in any second  ${pacedPeak} (as the sandbox received them, ${perSecond.size} distinct seconds) vs budget ${BUDGET}: ${pacedPeak <= BUDGET ? 'PASS' : 'FAIL'}`);
  console.log(`peak calls/s (per tick)   ${peakPerSec.toFixed(1)} averaged over a tick vs budget ${BUDGET}: ${peakPerSec <= BUDGET ? 'PASS' : 'FAIL'}`);
  console.log(`bench wall rate           ${peakWallRate.toFixed(0)} calls/s (simulated waits cost no wall time)`);
  console.log(`deferred by budget        ${deferredTicks} ticks (max ${deferredMax} in one), refresh failures ${failed}`);
  console.log(`expired tokens            ${expiredMax} refused by the sandbox at any tick (${expiredObservations} ticks with any; every token checked ${fullChecks} times, near-expiry ones every tick): ${expiredMax === 0 ? 'PASS' : 'FAIL'}; min headroom at a tick ${Number.isFinite(minHeadroom) ? `${(minHeadroom / MINUTE).toFixed(1)} min` : `> ${ahead / MINUTE} min`}`);
  console.log(`wall                      ${fmtWall(performance.now() - wallStart)} total: setup ${fmtWall(setupWall)}, simulation ${fmtWall(simWall)} (refresher ticks ${fmtWall(tickWallMs)}, expiry checks ${fmtWall(checkWallMs)})`);
  console.log(
    `tokens: ${N} authorizers, ${HOURS} h simulated: ${perDay.toFixed(1)} api_authorizer_token calls per authorizer per day ` +
      `(ideal ${idealLow.toFixed(1)}–${idealHigh.toFixed(1)}), peak ${pacedPeak} calls/s (budget ${BUDGET}) ${budgetOk ? 'PASS' : 'FAIL'}, ` +
      `${expiredMax} expired tokens, ${(catCalls / days).toFixed(1)} api_component_token calls per day`,
  );

  await platform.close();
  await sandbox.close();
  await store.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
