import { Writable } from 'node:stream';
import { afterEach, vi } from 'vitest';
import type { WxaCodeApi } from '../../../src/api/wxa-code.js';
import { WeChatApiError } from '../../../src/errors.js';
import { Fleet, type FleetOptions } from '../../../src/fleet/fleet.js';
import type { CreateJobInput } from '../../../src/fleet/planner.js';
import type { AuditEvent } from '../../../src/messages/types.js';
import { createMetrics, type Metrics } from '../../../src/observability/metrics.js';
import { createStore } from '../../../src/store/create-store.js';
import type { AuthorizerRecord, FleetTargetPatch, FleetTargetRecord, Store } from '../../../src/store/types.js';
import { createLogger } from '../../../src/util/logger.js';

/**
 * A Fleet with everything but itself in memory: SQLite `:memory:`, a scripted WeChat per merchant, a clock
 * the test moves, and every log line parsed. The runner is the embedded one; scans run every `scanMs` of
 * real time, but nothing becomes due unless the test's clock says so.
 */
export const C = 'wxcomponent';
export const T0 = 1_800_000_000_000;

export class TestClock {
  constructor(public ms = T0) {}
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export const apiError = (errcode: number, path = '/wxa/x') => new WeChatApiError(errcode, `err ${errcode}`, path);

/** A deploy of template 5 as 1.0.0 to every merchant, unless `over` says otherwise. */
export const deploy = (over: Partial<CreateJobInput> = {}): CreateJobInput => ({ templateId: 5, userVersion: '1.0.0', targets: { all: true }, ...over });

/** An audit result as WeChat pushes it to the merchant's message URL. */
export const auditEvent = (type: AuditEvent['type'], appid: string, data: Record<string, unknown> = {}): AuditEvent =>
  ({ type, authorizerAppid: appid, toUserName: 'gh_x', fromUserName: 'o_sys', createTime: T0 / 1000, data }) as unknown as AuditEvent;

const DEFAULTS: Record<string, unknown> = {
  commit: { errcode: 0 },
  getVersionInfo: {},
  submitAudit: { auditid: 77 },
  getLatestAuditStatus: undefined,
  getAuditStatus: { status: 0 },
  release: { errcode: 0 },
  grayRelease: { errcode: 0 },
  getGrayReleasePlan: { gray_release_plan: { status: 0, gray_percentage: 0 } },
  undoCodeAudit: { errcode: 0 },
  revertCodeRelease: { errcode: 0 },
};

/** WeChat for every merchant: each call is logged as `appid:method`; answers come from a script, else defaults. */
export function fakeWeChat() {
  const calls: string[] = [];
  const scripted: Record<string, Array<() => unknown>> = {};
  const state = { quota: 100 };
  const client = (appid: string) =>
    new Proxy({} as WxaCodeApi, {
      // Not a thenable: `then` stays undefined so the client can be returned from an async function.
      get: (_t, method: string) =>
        method === 'then' ? undefined : async () => {
        calls.push(`${appid}:${method}`);
        const next = scripted[`${appid}:${method}`]?.shift() ?? scripted[method]?.shift();
        if (next) return next();
        if (method === 'queryQuota') return { rest: state.quota, limit: 20, speedup_rest: 0, speedup_limit: 0 };
        return DEFAULTS[method];
      },
    });
  return {
    client,
    calls,
    state,
    /** The next call of `method` (for `appid` only, when given) answers with `f()`. */
    then(method: string, f: () => unknown, appid?: string) {
      (scripted[appid ? `${appid}:${method}` : method] ??= []).push(f);
    },
    count: (method: string) => calls.filter((c) => c.endsWith(`:${method}`)).length,
  };
}

export function authorizer(appid: string, over: Partial<AuthorizerRecord> = {}): AuthorizerRecord {
  return {
    componentAppid: C,
    authorizerAppid: appid,
    status: 'authorized',
    statusReason: null,
    funcInfo: [17, 18],
    refreshTokenEnc: null,
    accessTokenEnc: null,
    accessExpiresAt: null,
    version: 1,
    authorizedAt: T0,
    updatedAt: T0,
    info: null,
    eventTime: null,
    ...over,
  };
}

export type FleetWorld = Awaited<ReturnType<typeof fleetWorld>>;

export async function fleetWorld(over: Partial<FleetOptions> = {}, appids: readonly string[] = ['wxa1', 'wxa2', 'wxa3']) {
  const store: Store = await createStore('sqlite::memory:');
  const clock = new TestClock();
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  const metrics = createMetrics({ defaultMetrics: false });
  const wechat = fakeWeChat();
  const authorizers = appids.map((a) => authorizer(a));
  /** The template library's ids: `deploy()` uses template 5. */
  const library = new Set([5]);
  const fleet = new Fleet({
    componentAppid: C,
    store,
    wxa: (appid) => wechat.client(appid),
    listAuthorizers: async () => authorizers,
    templateIds: async () => library,
    clock,
    logger,
    metrics,
    scanMs: 20,
    ...over,
  });
  const events: Array<{ name: string; args: unknown[] }> = [];
  for (const name of ['target', 'progress', 'paused', 'done']) fleet.on(name, (...args: unknown[]) => events.push({ name, args }));

  const row = async (jobId: string, appid: string): Promise<FleetTargetRecord> => (await store.getFleetTarget(C, jobId, appid))!;
  return {
    fleet,
    store,
    clock,
    logs,
    metrics,
    wechat,
    events,
    authorizers,
    library,
    row,
    /** Writes a target's fields as if earlier steps had put them there. */
    async setTarget(jobId: string, appid: string, patch: FleetTargetPatch): Promise<FleetTargetRecord> {
      const r = await row(jobId, appid);
      return (await store.updateFleetTarget(C, jobId, appid, r.version, patch))!;
    },
    /** A counter's value for the labels given (0 when never incremented). */
    async metric(name: keyof Pick<Metrics, 'fleetSteps' | 'fleetTransitions' | 'fleetPauses'>, labels: Record<string, string>): Promise<number> {
      const values = (await metrics[name].get()).values;
      return values.find((v) => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val))?.value ?? 0;
    },
    logged: (msg: string) => logs.filter((l) => l.msg === msg),
    async close() {
      await fleet.stop();
      await store.close();
    },
  };
}

/**
 * A `world()` for one test file: every world it makes is closed after its test. Real timers come back
 * first, so closing never waits on a faked timer.
 */
export function fleetWorlds(): (over?: Partial<FleetOptions>, appids?: readonly string[]) => Promise<FleetWorld> {
  const worlds: FleetWorld[] = [];
  afterEach(async () => {
    vi.useRealTimers();
    for (const w of worlds.splice(0)) await w.close();
  });
  return async (over = {}, appids) => {
    const w = await fleetWorld(over, appids);
    worlds.push(w);
    return w;
  };
}

/** Counts the scans (each starts with the running jobs, synchronously from `kick()`). */
export function countScans(w: FleetWorld): { scans: number } {
  const seen = { scans: 0 };
  const list = w.store.listFleetJobs.bind(w.store);
  w.store.listFleetJobs = (c, o) => {
    if (o?.status === 'running') seen.scans++;
    return list(c, o);
  };
  return seen;
}

/** Resolves once the store has answered the first call of `method` made from now on (calls pass through). */
export function answered(w: FleetWorld, method: 'dueFleetTargets' | 'countFleetTargets'): Promise<void> {
  const original = w.store[method].bind(w.store) as (...args: unknown[]) => Promise<unknown>;
  let done!: () => void;
  const once = new Promise<void>((r) => (done = r));
  (w.store as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    const answer = await original(...args);
    done();
    return answer;
  };
  return once;
}

/**
 * Lets everything already under way run to its end: the in-memory store and the fake WeChat answer in promise
 * jobs only, so one turn of the event loop drains every step and scan started so far (what waits on a timer,
 * like an audit result waiting for a submission's write, excepted).
 */
export const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Polls `check` until it holds (real time; every fleet wait in these tests is milliseconds). */
export async function until<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 5_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
