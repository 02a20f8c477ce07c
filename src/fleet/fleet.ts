import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { MemoryRateLimitBackend, parseRateLimits, RateLimiter, RedisRateLimitBackend, type RateLimitBackend } from '../api/rate-limit.js';
import type { WxaCodeApi } from '../api/wxa-code.js';
import { WeChatApiError } from '../errors.js';
import type { AuditEvent } from '../messages/types.js';
import type { Metrics } from '../observability/metrics.js';
import type { FleetTargetRecord, Store } from '../store/types.js';
import { databaseOutage } from '../store/outage.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { FleetNotFoundError, FleetStateError, FleetTemplateCheckError, FleetValidationError } from './errors.js';
import { validateExtJson } from './ext-json.js';
import { isSettled, newTargetRecord, nextStep, TARGET_STATES, toJob, toTarget, type FleetJob, type FleetPauseCode, type FleetStep, type FleetTarget, type TargetState } from './model.js';
import { planDeploy, type CreateJobInput } from './planner.js';
import { progressOf, type FleetProgress } from './report.js';
import { BullmqQueue } from './runner-bullmq.js';
import { EmbeddedQueue } from './runner-embedded.js';
import { moveTo, runStep, type StepDeps } from './steps.js';
import type { WorkItem, WorkQueue } from './work-queue.js';
import { errorFields } from '../util/log-error.js';

export interface FleetOptions {
  componentAppid: string;
  store: Store;
  /** The code-management client acting for a merchant: `(appid) => platform.authorizer(appid).wxa`. */
  wxa(appid: string): WxaCodeApi;
  /** Every authorizer of the platform (targets are chosen among them). */
  listAuthorizers(): Promise<import('../store/types.js').AuthorizerRecord[]>;
  /** The template ids in the component's template library (wxa/gettemplatelist), read once per job created. */
  templateIds(): Promise<ReadonlySet<number>>;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** BullMQ across instances when set; else the embedded runner. */
  redisUrl?: string;
  /** BullMQ worker concurrency (embedded: each job's `concurrency`); default 16. */
  concurrency?: number;
  /** How often the runner looks for due merchants; default 2000. */
  scanMs?: number;
  /** How long a claimed step is owned before another runner may reconcile it; default 60000. */
  leaseMs?: number;
  maxAttempts?: number;
  retryBackoffMs?: number;
  /** How long a queryquota answer is trusted; default 60000. */
  quotaTtlMs?: number;
  /** Redis key prefix for the queue and rate buckets; default `wxopen:fleet`. */
  redisPrefix?: string;
}

export interface FleetActionResult {
  done: string[];
  skipped: string[];
  failed: Array<{ appid: string; errcode: number; errmsg: string }>;
}

const AUDITING: readonly TargetState[] = ['audit_submitted', 'delayed'];
const PROGRESS_THROTTLE_MS = 250;
const SCAN_PAGE = 1000;
/** An audit result racing our own write of the submission: re-read this often, this many times. */
const AUDIT_EVENT_TRIES = 20;
const AUDIT_EVENT_WAIT_MS = 100;

/** Deploy jobs: create, read, act, and (after `start()`) run them. See README "Mini-program fleet". */
export class Fleet extends EventEmitter {
  private queue: WorkQueue | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private rescan = false;
  private moreDue = false;
  private readonly limiters = new Map<string, RateLimiter>();
  private rateBackend: RateLimitBackend | undefined;
  private quota: { rest: number; at: number } | undefined;
  private quotaLock: Promise<unknown> = Promise.resolve();
  private readonly jobs = new Map<string, { job: FleetJob; at: number }>();
  private readonly progressAt = new Map<string, number>();
  private readonly deps: StepDeps;

  constructor(private readonly o: FleetOptions) {
    super();
    this.deps = {
      componentAppid: o.componentAppid,
      store: o.store,
      clock: o.clock,
      logger: o.logger,
      metrics: o.metrics,
      wxa: o.wxa,
      acquire: (job, api) => this.acquire(job, api),
      takeAuditQuota: (job, appid) => this.takeAuditQuota(appid),
      pauseJob: (job, code, message, errcode) => this.pauseFor(job.jobId, code, message, errcode),
      onTransition: (row, from) => this.transitioned(row, from),
      leaseMs: o.leaseMs ?? 60_000,
      maxAttempts: o.maxAttempts ?? 5,
      retryBackoffMs: o.retryBackoffMs ?? 5_000,
    };
  }

  get runnerKind(): 'embedded' | 'bullmq' | undefined {
    return this.queue?.kind;
  }

  // ---- jobs ----

  /**
   * Validates everything first (FleetValidationError lists all problems; nothing stored), then stores and queues.
   * An unreadable template library is FleetTemplateCheckError: an unchecked template id is not let through.
   */
  async createJob(input: CreateJobInput): Promise<FleetJob> {
    const templateIds = this.o.templateIds().catch((err: unknown) => {
      throw new FleetTemplateCheckError(input.templateId, err);
    });
    const [authorizers, stored, library] = await Promise.all([this.o.listAuthorizers(), this.o.store.listFleetExtJson(this.o.componentAppid), templateIds]);
    const plan = planDeploy(input, authorizers, new Map(stored.map((s) => [s.appid, s.extJson])), library);
    if (plan.issues.length) throw new FleetValidationError(plan.issues);
    const now = this.o.clock.now();
    const jobId = `fj_${randomBytes(8).toString('hex')}`;
    const record = {
      componentAppid: this.o.componentAppid,
      jobId,
      templateId: input.templateId,
      userVersion: input.userVersion,
      userDesc: input.userDesc ?? '',
      options: plan.options as unknown as Record<string, unknown>,
      status: 'running' as const,
      pause: null,
      total: plan.targets.length,
      createdBy: input.createdBy ?? null,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    };
    await this.o.store.createFleetJob(
      record,
      plan.targets.map((t) => newTargetRecord(this.o.componentAppid, jobId, t.appid, t.extJson, now)),
    );
    this.o.logger.info({ jobId, targets: plan.targets.length, templateId: input.templateId, userVersion: input.userVersion }, 'deploy job created');
    this.kick();
    return toJob(record);
  }

  async getJob(jobId: string): Promise<FleetJob> {
    const r = await this.o.store.getFleetJob(this.o.componentAppid, jobId);
    if (!r) throw new FleetNotFoundError(jobId);
    return toJob(r);
  }

  async listJobs(options: { limit?: number; status?: FleetJob['status'] } = {}): Promise<FleetJob[]> {
    return (await this.o.store.listFleetJobs(this.o.componentAppid, options)).map(toJob);
  }

  async listTargets(jobId: string, options: { state?: TargetState | TargetState[]; limit?: number; offset?: number } = {}): Promise<FleetTarget[]> {
    await this.getJob(jobId);
    const states = options.state === undefined ? undefined : Array.isArray(options.state) ? options.state : [options.state];
    return (await this.o.store.listFleetTargets(this.o.componentAppid, jobId, { states, limit: options.limit, offset: options.offset })).map(toTarget);
  }

  async report(jobId: string): Promise<FleetTarget[]> {
    return this.listTargets(jobId);
  }

  async progress(jobId: string): Promise<FleetProgress> {
    const job = await this.getJob(jobId);
    const counts = await this.o.store.countFleetTargets(this.o.componentAppid, jobId);
    const failures = (await this.o.store.listFleetTargets(this.o.componentAppid, jobId, { states: ['failed', 'rejected'], limit: 100 })).map(toTarget);
    return progressOf(job, counts, failures, this.o.clock.now());
  }

  async pause(jobId: string): Promise<void> {
    await this.pauseFor(jobId, 'manual', 'paused by an operator');
  }

  async resume(jobId: string): Promise<void> {
    const now = this.o.clock.now();
    const ok = await this.o.store.updateFleetJob(this.o.componentAppid, jobId, { status: 'running', pause: null, updatedAt: now }, ['paused', 'running']);
    if (!ok) throw await this.stateError(jobId, 'resume');
    this.quota = undefined;
    this.jobs.delete(jobId);
    this.kick();
  }

  async cancel(jobId: string): Promise<void> {
    const now = this.o.clock.now();
    const ok = await this.o.store.updateFleetJob(this.o.componentAppid, jobId, { status: 'cancelled', updatedAt: now, finishedAt: now }, ['running', 'paused']);
    if (!ok) throw await this.stateError(jobId, 'cancel');
    this.jobs.delete(jobId);
  }

  /** failed → the step that failed again; rejected (or withdrawn) → pending (commit and submit again). Resumes the job. */
  async retry(jobId: string, options: { appids?: readonly string[] } = {}): Promise<{ retried: string[] }> {
    const job = await this.getJob(jobId);
    if (job.status === 'cancelled') throw new FleetStateError(`job ${jobId} is cancelled`);
    const rows = await this.o.store.listFleetTargets(this.o.componentAppid, jobId, { states: ['failed', 'rejected', 'withdrawn'] });
    const want = options.appids ? new Set(options.appids) : undefined;
    const retried: string[] = [];
    const now = this.o.clock.now();
    for (const row of rows) {
      if (want && !want.has(row.appid)) continue;
      const back: TargetState = row.state === 'failed' ? backStateFor(row.errorStep) : 'pending';
      const done = await this.o.store.updateFleetTarget(this.o.componentAppid, jobId, row.appid, row.version, {
        ...moveTo(job, back, now),
        nextAt: now,
        auditid: back === 'pending' ? null : row.auditid,
        reason: null,
        updatedAt: now,
      });
      if (done) {
        retried.push(row.appid);
        this.transitioned(done, row.state);
      }
    }
    if (retried.length) {
      await this.o.store.updateFleetJob(this.o.componentAppid, jobId, { status: 'running', pause: null, finishedAt: null, updatedAt: now }, ['running', 'paused', 'done']);
      this.jobs.delete(jobId);
      this.kick();
    }
    return { retried };
  }

  /** undocodeaudit for merchants still auditing → withdrawn. 87013 (undo limit) fails that merchant only. */
  async withdraw(jobId: string, options: { appids?: readonly string[] } = {}): Promise<FleetActionResult> {
    return this.act(jobId, options.appids, AUDITING, 'withdrawn', 'withdraw', (wxa) => wxa.undoCodeAudit());
  }

  /** revertcoderelease for released merchants → reverted (the previous online version comes back). */
  async rollback(jobId: string, options: { appids?: readonly string[] } = {}): Promise<FleetActionResult> {
    return this.act(jobId, options.appids, ['released'], 'reverted', 'rollback', (wxa) => wxa.revertCodeRelease());
  }

  // ---- ext_json per authorizer ----

  async setExtJson(appid: string, value: string | Record<string, unknown>): Promise<void> {
    const check = validateExtJson(appid, value);
    if (!check.ok) throw new FleetValidationError([{ appid, field: 'extJson', problem: check.problem }], 'ext_json');
    await this.o.store.setFleetExtJson(this.o.componentAppid, appid, check.json, this.o.clock.now());
  }

  getExtJson(appid: string): Promise<string | undefined> {
    return this.o.store.getFleetExtJson(this.o.componentAppid, appid);
  }

  deleteExtJson(appid: string): Promise<boolean> {
    return this.o.store.deleteFleetExtJson(this.o.componentAppid, appid);
  }

  listExtJson(): Promise<Array<{ appid: string; extJson: string; updatedAt: number }>> {
    return this.o.store.listFleetExtJson(this.o.componentAppid);
  }

  // ---- audit results pushed by WeChat ----

  /** weapp_audit_success/fail/delay at the merchant's message URL → its auditing targets move on. */
  async onAuditEvent(event: AuditEvent): Promise<void> {
    const appid = event.authorizerAppid;
    const state: TargetState = event.type === 'event.weapp_audit_success' ? 'approved' : event.type === 'event.weapp_audit_fail' ? 'rejected' : 'delayed';
    const reason = event.type === 'event.weapp_audit_success' ? null : event.data.Reason || null;
    for (let attempt = 0; attempt < AUDIT_EVENT_TRIES; attempt++) {
      const rows = await this.o.store.findFleetTargetsByAppid(this.o.componentAppid, appid, [...AUDITING, 'committed']);
      // WeChat can push the result before our submission's answer is written: wait for that write.
      let waiting = rows.filter((r) => r.state === 'committed' && r.intent === 'submit').length;
      for (const row of rows) {
        if (row.state === state || !AUDITING.includes(row.state as TargetState)) continue;
        const job = await this.jobFor(row.jobId);
        const now = this.o.clock.now();
        const written = await this.o.store.updateFleetTarget(this.o.componentAppid, row.jobId, appid, row.version, {
          ...moveTo(job, state, now),
          reason,
          leaseUntil: null,
          updatedAt: now,
        });
        if (!written) waiting++;
        else {
          this.o.metrics.fleetSteps.inc({ step: 'poll', outcome: 'pushed' });
          this.o.metrics.fleetTransitions.inc({ from: row.state, to: state });
          this.transitioned(written, row.state);
          if (written.nextAt !== null && written.nextAt <= now) await this.enqueue(job, written);
        }
      }
      if (waiting === 0) return;
      await new Promise((r) => setTimeout(r, AUDIT_EVENT_WAIT_MS));
    }
  }

  // ---- runner ----

  /** Runs due steps in this process: embedded, or a BullMQ worker when `redisUrl` is set. */
  async start(): Promise<void> {
    if (this.queue) return;
    const prefix = this.o.redisPrefix ?? 'wxopen:fleet';
    this.queue = this.o.redisUrl
      ? new BullmqQueue(this.o.redisUrl, { name: `steps-${this.o.componentAppid}`, prefix, concurrency: this.o.concurrency ?? 16 })
      : new EmbeddedQueue();
    this.rateBackend = this.o.redisUrl ? RedisRateLimitBackend.fromUrl(this.o.redisUrl, `${prefix}:rate:`) : new MemoryRateLimitBackend();
    await this.queue.start((item) => this.runItem(item));
    const scanMs = this.o.scanMs ?? 2_000;
    const loop = () => {
      this.scanTimer = setTimeout(() => {
        void this.scan().finally(() => this.scanTimer !== undefined && loop());
      }, scanMs);
      this.scanTimer.unref();
    };
    loop();
    this.kick();
  }

  async stop(): Promise<void> {
    if (this.scanTimer) clearTimeout(this.scanTimer);
    this.scanTimer = undefined;
    const q = this.queue;
    // This run's backend, taken before any await: steps still finishing keep using it until it closes, and a
    // start() while this one closes makes a backend of its own, which must stay open.
    const rate = this.rateBackend;
    this.queue = undefined;
    await this.scanning;
    await q?.close();
    await rate?.close();
    if (this.rateBackend === rate) this.rateBackend = undefined;
    // Each limiter may hold the backend just closed; the next ones are made on the current backend.
    this.limiters.clear();
  }

  /** Look for due work now (after a create, a retry, a resume). */
  kick(): void {
    if (!this.queue) return;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    void this.scan();
  }

  /** Resolves when no job is running (for tests and the CLI). */
  async idle(jobId: string, pollMs = 100): Promise<FleetJob> {
    for (;;) {
      const job = await this.getJob(jobId);
      if (job.status !== 'running') return job;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  private async scan(): Promise<void> {
    if (this.scanning || !this.queue) return;
    this.scanning = (async () => {
      try {
        do {
          this.rescan = false;
          try {
            await this.scanOnce();
          } catch (err) {
            // A database outage is logged once for the whole process (and once when it ends), not every scan.
            if (!databaseOutage(this.o.store, this.o.logger).failed(err)) this.o.logger.warn(errorFields(err), 'fleet scan failed; retrying at the next interval');
          }
        } while (this.rescan && this.queue);
      } finally {
        // In the same step as the last look at `rescan`: a kick() after that look finds no scan running and
        // starts one, where a `.finally()` a microtask later left it setting a flag nobody read.
        this.scanning = undefined;
      }
    })();
    await this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const queue = this.queue;
    if (!queue) return;
    const now = this.o.clock.now();
    const running = await this.o.store.listFleetJobs(this.o.componentAppid, { status: 'running', limit: 100 });
    for (const r of running) this.jobs.set(r.jobId, { job: toJob(r), at: now });
    const due = await this.o.store.dueFleetTargets(this.o.componentAppid, now, SCAN_PAGE);
    this.moreDue = due.length === SCAN_PAGE;
    for (const row of due) {
      const job = this.jobs.get(row.jobId)?.job;
      if (job && !queue.has({ jobId: row.jobId, appid: row.appid, version: row.version, rank: 0 })) await this.enqueue(job, row);
    }
    for (const r of running) if (!due.some((d) => d.jobId === r.jobId)) await this.finishIfSettled(toJob(r));
  }

  private async enqueue(job: FleetJob, row: FleetTargetRecord): Promise<void> {
    const step = (row.intent as FleetStep | null) ?? nextStep(row.state as TargetState, job.options);
    const rank = step === 'release' || step === 'gray' ? 3 : step === 'commit' ? 1 : 2;
    await this.queue?.add({ jobId: job.jobId, appid: row.appid, version: row.version, rank }, job.options.concurrency);
  }

  private async runItem(item: WorkItem): Promise<void> {
    try {
      await this.runItemOnce(item);
    } catch (err) {
      // The row keeps its intent and lease: the next scan after the lease reconciles it.
      this.o.logger.warn({ ...errorFields(err), jobId: item.jobId, appid: item.appid }, 'fleet step could not run; retried after its lease');
    }
  }

  private async runItemOnce(item: WorkItem): Promise<void> {
    const job = await this.jobFor(item.jobId);
    if (job.status !== 'running') return;
    const row = await runStep(this.deps, job, item.appid);
    // The next step right away (commit → submit): no wait for the next scan.
    if (row && row.nextAt !== null && row.nextAt <= this.o.clock.now() && this.queue) {
      const fresh = await this.jobFor(item.jobId);
      if (fresh.status === 'running') await this.enqueue(fresh, row);
    }
    // More due rows than the last scan fetched: fetch the next page once this process runs low.
    if (this.moreDue && this.queue && (await this.queue.pending()) < job.options.concurrency * 2) this.kick();
  }

  private async jobFor(jobId: string): Promise<FleetJob> {
    const now = this.o.clock.now();
    const cached = this.jobs.get(jobId);
    if (cached && now - cached.at < 1_000) return cached.job;
    const job = await this.getJob(jobId);
    this.jobs.set(jobId, { job, at: now });
    return job;
  }

  private async finishIfSettled(job: FleetJob): Promise<void> {
    const counts = await this.o.store.countFleetTargets(this.o.componentAppid, job.jobId);
    const settled = TARGET_STATES.filter((s) => isSettled(s, job.options)).reduce((n, s) => n + (counts[s] ?? 0), 0);
    if (settled < job.total) return;
    const now = this.o.clock.now();
    if (await this.o.store.updateFleetJob(this.o.componentAppid, job.jobId, { status: 'done', finishedAt: now, updatedAt: now }, ['running'])) {
      this.jobs.delete(job.jobId);
      this.o.logger.info({ jobId: job.jobId, counts }, 'deploy job finished');
      this.emit('progress', { jobId: job.jobId });
      this.emit('done', { jobId: job.jobId });
    }
  }

  private async acquire(job: FleetJob, api: string): Promise<void> {
    if (!job.options.rates || !this.rateBackend) return;
    let limiter = this.limiters.get(job.jobId);
    if (!limiter) {
      limiter = new RateLimiter({ rules: parseRateLimits(job.options.rates), backend: this.rateBackend, clock: this.o.clock, maxWaitMs: 60_000 });
      this.limiters.set(job.jobId, limiter);
    }
    await limiter.acquire(api, `fleet:${job.jobId}`);
  }

  /** queryquota once a minute (or when the count runs out); counted down locally per submission. */
  private takeAuditQuota(appid: string): Promise<boolean> {
    // One at a time in this process, so concurrent steps cannot all spend the same last submission.
    const run = this.quotaLock.then(() => this.takeAuditQuotaNow(appid));
    this.quotaLock = run.catch(() => undefined);
    return run;
  }

  private async takeAuditQuotaNow(appid: string): Promise<boolean> {
    const now = this.o.clock.now();
    // Not refetched when the local count reaches 0: submissions still in flight are not counted by WeChat yet.
    if (!this.quota || now - this.quota.at > (this.o.quotaTtlMs ?? 60_000)) {
      const q = await this.o.wxa(appid).queryQuota();
      this.quota = { rest: q.rest, at: now };
    }
    if (this.quota.rest <= 0) return false;
    this.quota.rest -= 1;
    return true;
  }

  private async pauseFor(jobId: string, code: FleetPauseCode, message: string, errcode?: number): Promise<void> {
    const now = this.o.clock.now();
    const pause = { code, message, at: now, ...(errcode !== undefined && { errcode }) };
    const ok = await this.o.store.updateFleetJob(this.o.componentAppid, jobId, { status: 'paused', pause, updatedAt: now }, ['running']);
    this.jobs.delete(jobId);
    if (ok) {
      this.o.metrics.fleetPauses.inc({ code });
      this.o.logger.warn({ jobId, code, message }, 'deploy job paused');
      this.emit('progress', { jobId });
      this.emit('paused', { jobId, code, message });
    } else if (code === 'manual') throw await this.stateError(jobId, 'pause');
  }

  private async stateError(jobId: string, action: string): Promise<FleetStateError> {
    const job = await this.getJob(jobId);
    return new FleetStateError(`cannot ${action} job ${jobId}: it is ${job.status}`);
  }

  private transitioned(row: FleetTargetRecord, from: string): void {
    this.emit('target', toTarget(row), from);
    const now = Date.now();
    if (now - (this.progressAt.get(row.jobId) ?? 0) >= PROGRESS_THROTTLE_MS) {
      this.progressAt.set(row.jobId, now);
      this.emit('progress', { jobId: row.jobId });
    }
  }

  private async act(
    jobId: string,
    appids: readonly string[] | undefined,
    from: readonly TargetState[],
    to: TargetState,
    step: 'withdraw' | 'rollback',
    call: (wxa: WxaCodeApi) => Promise<unknown>,
  ): Promise<FleetActionResult> {
    await this.getJob(jobId);
    const want = appids ? new Set(appids) : undefined;
    const rows = await this.o.store.listFleetTargets(this.o.componentAppid, jobId);
    const result: FleetActionResult = { done: [], skipped: [], failed: [] };
    for (const row of rows) {
      if (want && !want.has(row.appid)) continue;
      if (!from.includes(row.state as TargetState)) {
        if (want) result.skipped.push(row.appid);
        continue;
      }
      const now = this.o.clock.now();
      const claimed = await this.o.store.updateFleetTarget(this.o.componentAppid, jobId, row.appid, row.version, {
        intent: step,
        intentAt: now,
        leaseUntil: now + this.deps.leaseMs,
        updatedAt: now,
      });
      if (!claimed) {
        result.skipped.push(row.appid);
        continue;
      }
      try {
        await call(this.o.wxa(row.appid));
        const written = await this.o.store.updateFleetTarget(this.o.componentAppid, jobId, row.appid, claimed.version, {
          state: to,
          intent: null,
          intentAt: null,
          leaseUntil: null,
          nextAt: null,
          updatedAt: this.o.clock.now(),
        });
        if (written) this.transitioned(written, row.state);
        this.o.metrics.fleetSteps.inc({ step, outcome: 'ok' });
        result.done.push(row.appid);
      } catch (err) {
        const errcode = err instanceof WeChatApiError ? err.errcode : -2;
        const errmsg = err instanceof Error ? err.message : String(err);
        await this.o.store.updateFleetTarget(this.o.componentAppid, jobId, row.appid, claimed.version, {
          intent: null,
          intentAt: null,
          leaseUntil: null,
          errcode,
          errmsg: err instanceof WeChatApiError ? err.errmsg : errmsg,
          errorStep: step,
          updatedAt: this.o.clock.now(),
        });
        this.o.metrics.fleetSteps.inc({ step, outcome: 'failed' });
        result.failed.push({ appid: row.appid, errcode, errmsg: err instanceof WeChatApiError ? err.errmsg : errmsg });
      }
    }
    return result;
  }
}

function backStateFor(errorStep: string | null): TargetState {
  switch (errorStep) {
    case 'submit':
      return 'committed';
    case 'release':
    case 'gray':
      return 'approved';
    case 'poll':
      return 'audit_submitted';
    default:
      return 'pending';
  }
}

export { nextStep };
