import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../src/config.js';
import { createFleet } from '../../src/fleet/create.js';
import { BullmqQueue } from '../../src/fleet/runner-bullmq.js';
import { EmbeddedQueue } from '../../src/fleet/runner-embedded.js';
import type { WorkItem, WorkQueue } from '../../src/fleet/work-queue.js';
import type { Platform } from '../../src/platform.js';
import { createStore } from '../../src/store/create-store.js';
import { noteSkipped, REDIS_URL } from '../helpers/services.js';
import { apiError, C, fakeWeChat } from '../unit/fleet/fleet-world.js';

const item = (appid: string, version = 0, rank = 1): WorkItem => ({ jobId: 'fj_q', appid, version, rank });

/** What both runners promise the fleet: each step once, the furthest-along merchant first, nothing after close. */
function workQueueContract(name: string, open: (concurrency: number) => WorkQueue) {
  describe(`fleet work queue contract: ${name}`, () => {
    const queues: WorkQueue[] = [];
    /** `concurrency` steps at a time (BullMQ: per worker; embedded: given again with each add). */
    const make = (concurrency = 1) => {
      const q = open(concurrency);
      queues.push(q);
      return q;
    };
    afterEach(async () => {
      for (const q of queues.splice(0)) await q.close();
    });

    it('runs each added step once, even when it is added twice', async () => {
      const q = make(2);
      const ran: WorkItem[] = [];
      let unblock!: () => void;
      const gate = new Promise<void>((r) => (unblock = r));
      await q.start(async (it) => {
        ran.push(it);
        await gate;
      });
      await q.add(item('wx1', 4, 2), 2);
      // Queued or running (embedded), or added lately (BullMQ): the scanner skips it.
      expect(q.has(item('wx1', 4, 2))).toBe(true);
      expect(q.has(item('wx2', 4, 2))).toBe(false);
      await q.add(item('wx1', 4, 2), 2);
      await q.add(item('wx2'), 2);
      await vi.waitFor(() => expect(ran).toHaveLength(2), { timeout: 10_000, interval: 10 });
      unblock();
      await new Promise((r) => setTimeout(r, 100));
      expect(ran.map((i) => i.appid).sort()).toEqual(['wx1', 'wx2']);
      expect(ran.find((i) => i.appid === 'wx1')).toEqual(item('wx1', 4, 2));
    });

    it('runs a merchant further along first: release, then submit, then commit', async () => {
      const q = make();
      const ran: string[] = [];
      let unblock!: () => void;
      const blocked = new Promise<void>((r) => (unblock = r));
      let started!: () => void;
      const blocking = new Promise<void>((r) => (started = r));
      await q.start(async (it) => {
        if (it.appid === 'first') {
          started();
          await blocked;
        }
        ran.push(it.appid);
      });
      await q.add(item('first', 0, 1), 1);
      await blocking;
      await q.add(item('commit', 0, 1), 1);
      await q.add(item('release', 0, 3), 1);
      await q.add(item('submit', 0, 2), 1);
      expect(await q.pending()).toBeGreaterThanOrEqual(3);
      unblock();
      await vi.waitFor(() => expect(ran).toHaveLength(4), { timeout: 10_000, interval: 10 });
      expect(ran).toEqual(['first', 'release', 'submit', 'commit']);
    });

    it('takes nothing after close', async () => {
      const q = make();
      const ran: string[] = [];
      await q.start(async (it) => {
        ran.push(it.appid);
      });
      await q.close();
      await q.add(item('late'), 1).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 150));
      expect(ran).toEqual([]);
    });
  });
}

workQueueContract('embedded', () => new EmbeddedQueue());

if (REDIS_URL) {
  const url = REDIS_URL;
  const prefixes: string[] = [];
  const prefix = () => {
    const p = `wxo_t_fleet_${randomBytes(4).toString('hex')}`;
    prefixes.push(p);
    return p;
  };
  afterAll(async () => {
    const redis = new Redis(url);
    for (const p of prefixes) {
      const keys = await redis.keys(`${p}:*`);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  });

  /** A fleet on Redis over an in-memory store where `appids` are authorized, with a scripted WeChat. */
  async function redisFleet(o: { componentAppid?: string; appids?: string[]; redisPrefix?: string } = {}) {
    const componentAppid = o.componentAppid ?? C;
    const store = await createStore('sqlite::memory:');
    const at = Date.now();
    for (const appid of o.appids ?? ['wxr1']) {
      await store.saveAuthorization({ componentAppid, authorizerAppid: appid, funcInfo: [18], refreshTokenEnc: 'r', accessTokenEnc: null, accessExpiresAt: null, at });
    }
    const wechat = fakeWeChat();
    const platform = { authorizer: (appid: string) => ({ wxa: wechat.client(appid) }) , componentApi: { templates: { getTemplateList: async () => ({ template_list: [{ template_id: 1 }] }) } } } as unknown as Platform;
    const config = { componentAppid, logLevel: 'silent', redisUrl: url } as unknown as Config;
    const fleet = createFleet({ platform, store, config, scanMs: 50, ...(o.redisPrefix !== undefined && { redisPrefix: o.redisPrefix }) });
    return { store, wechat, fleet };
  }

  workQueueContract('BullMQ', (concurrency) => new BullmqQueue(url, { name: 'steps-test', prefix: prefix(), concurrency }));

  describe('BullMQ runner', () => {
    it('remembers a step it added for 5 s, so its own scanner does not add it again', async () => {
      const q = new BullmqQueue(url, { name: 'steps-test', prefix: prefix(), concurrency: 1 });
      try {
        const start = Date.now();
        vi.useFakeTimers({ toFake: ['Date'] });
        vi.setSystemTime(start);
        await q.add(item('wx1', 2));
        vi.setSystemTime(start + 4_999);
        expect(q.has(item('wx1', 2))).toBe(true);
        expect(q.has(item('wx1', 3))).toBe(false);
        // Forgotten at exactly 5 s.
        vi.setSystemTime(start + 5_000);
        expect(q.has(item('wx1', 2))).toBe(false);
      } finally {
        vi.useRealTimers();
        await q.close();
      }
    });

    it('runs a deploy across instances when the config has a Redis URL', async () => {
      const { store, wechat, fleet } = await redisFleet({ appids: ['wxr1', 'wxr2'], redisPrefix: prefix() });
      try {
        const job = await fleet.createJob({ templateId: 1, userVersion: '1.0.0', targets: { all: true }, options: { submitAudit: false } });
        await fleet.start();
        expect(fleet.runnerKind).toBe('bullmq');
        expect(await fleet.idle(job.jobId, 20)).toMatchObject({ status: 'done' });
        expect(wechat.calls.sort()).toEqual(['wxr1:commit', 'wxr2:commit']);
      } finally {
        await fleet.stop();
        await store.close();
      }
    });

    it('keeps its queue and its rate buckets under wxopen:fleet when no prefix is given', async () => {
      // Its own platform, so its queue (steps-<componentAppid>) is no other run's.
      const componentAppid = `wxo_t_c_${randomBytes(4).toString('hex')}`;
      const { store, wechat, fleet } = await redisFleet({ componentAppid });
      const redis = new Redis(url);
      let jobId: string | undefined;
      try {
        const job = await fleet.createJob({ templateId: 1, userVersion: '1.0.0', targets: { all: true }, options: { submitAudit: false, rates: 'wxa/commit=10/m' } });
        jobId = job.jobId;
        await fleet.start();
        expect(await fleet.idle(job.jobId, 20)).toMatchObject({ status: 'done' });
        expect(wechat.calls).toEqual(['wxr1:commit']);
        expect(await redis.keys(`wxopen:fleet:steps-${componentAppid}:*`)).not.toEqual([]);
        // The job's bucket for wxa/commit, shared by every instance.
        expect(await redis.exists(`wxopen:fleet:rate:wxa/commit|fleet:${job.jobId}`)).toBe(1);
      } finally {
        await fleet.stop();
        await store.close();
        const keys = [...(await redis.keys(`*steps-${componentAppid}*`)), ...(jobId ? await redis.keys(`*fleet:${jobId}*`) : [])];
        if (keys.length) await redis.del(...keys);
        redis.disconnect();
      }
    });

    it.each([
      ['after stop() has finished', false],
      ['while stop() is still closing the old queue', true],
    ])('started again %s, it spends its jobs’ rates through the new Redis connection, not the closed one', async (_when, overlap) => {
      const p = prefix();
      const { store, wechat, fleet } = await redisFleet({ redisPrefix: p });
      // The first commit fails for good, so the job needs a retry after the restart.
      wechat.then('commit', () => Promise.reject(apiError(85013, '/wxa/commit')));
      const redis = new Redis(url);
      try {
        const job = await fleet.createJob({ templateId: 1, userVersion: '1.0.0', targets: { all: true }, options: { submitAudit: false, rates: 'wxa/commit=10/m' } });
        const bucket = `${p}:rate:wxa/commit|fleet:${job.jobId}`;
        await fleet.start();
        expect(await fleet.idle(job.jobId, 20)).toMatchObject({ status: 'done' });
        expect((await fleet.listTargets(job.jobId))[0]).toMatchObject({ state: 'failed' });
        if (overlap) {
          const stopping = fleet.stop();
          await fleet.start();
          await stopping;
        } else {
          await fleet.stop();
          await fleet.start();
        }
        // The retried commit must be paid for in Redis again (a fleet without its rate backend spends no rate at all).
        await redis.del(bucket);
        expect(await fleet.retry(job.jobId)).toEqual({ retried: ['wxr1'] });
        await vi.waitFor(async () => expect((await fleet.listTargets(job.jobId))[0]).toMatchObject({ state: 'committed', error: null }), { timeout: 5_000, interval: 20 });
        expect(wechat.calls).toEqual(['wxr1:commit', 'wxr1:commit']);
        expect(await redis.exists(bucket)).toBe(1);
      } finally {
        await fleet.stop();
        await store.close();
        redis.disconnect();
      }
    });
  });
} else {
  noteSkipped('fleet work queue contract: BullMQ', 'WXOPEN_TEST_REDIS_URL');
}
