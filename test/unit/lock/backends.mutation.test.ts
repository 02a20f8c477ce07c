import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { coordinate, LockTimeoutError } from '../../../src/lock/coordinate.js';
import { createLockBackend } from '../../../src/lock/create-lock.js';
import { MemoryLockBackend } from '../../../src/lock/memory.js';
import { PostgresLockBackend } from '../../../src/lock/postgres.js';
import { RedisLockBackend } from '../../../src/lock/redis.js';
import { SqliteLeaseLockBackend } from '../../../src/lock/sqlite-lease.js';
import type { Lease, LockBackend } from '../../../src/lock/types.js';
import { ManualClock } from '../../helpers/platform.js';
import { PG_URL, REDIS_URL } from '../../helpers/services.js';

let n = 0;
const key = () => `unit-b:${process.pid}:${Date.now()}:${++n}`;
const held: LockBackend = { kind: 'memory', tryAcquire: async () => undefined, close: async () => {} };

afterEach(() => vi.restoreAllMocks());

describe('coordinate: waiting for a live holder', () => {
  it('waits at least two leases plus a second, polling every pollMs × (0.5 + random), then gives up naming the wait', async () => {
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const sleeps: number[] = [];
    let attempts = 0;
    const lock: LockBackend = { ...held, tryAcquire: async () => void attempts++ };
    const err = await coordinate({
      lock,
      key: key(),
      current: async () => undefined,
      refresh: async () => 'never',
      leaseMs: 1000,
      maxWaitMs: 0,
      pollMs: 100,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect((err as LockTimeoutError).code).toBe('WXO_ERR_LOCK_TIMEOUT');
    expect((err as Error).message).toContain('waited 3000 ms');
    expect(new Set(sleeps)).toEqual(new Set([50]));
    // Gives up only once more than 3000 ms have passed: attempts at 0, 50, …, 3000, 3050.
    expect(attempts).toBe(62);
  });

  it('sleeps between polls by default (it does not spin)', async () => {
    let attempts = 0;
    let free = false;
    setTimeout(() => (free = true), 200);
    const mem = new MemoryLockBackend();
    const lock: LockBackend = { ...held, tryAcquire: async (k, ttl) => (attempts++, free ? mem.tryAcquire(k, ttl) : undefined) };
    expect(await coordinate({ lock, key: key(), current: async () => undefined, refresh: async () => 'v', leaseMs: 5000, maxWaitMs: 60_000, pollMs: 20 })).toBe('v');
    expect(attempts).toBeLessThan(60);
  });

  it('renews the lease while refresh runs and reports a lost lease once', async () => {
    const renewals: number[] = [];
    const lost: string[] = [];
    const lease: Lease = { lost: false, renew: async (ttl) => (renewals.push(ttl), false), release: async () => {} };
    const k = key();
    const v = await coordinate({
      lock: { ...held, tryAcquire: async () => lease },
      key: k,
      current: async () => undefined,
      refresh: () => new Promise((r) => setTimeout(() => r('slow'), 150)),
      leaseMs: 30,
      maxWaitMs: 0,
      pollMs: 10,
      onLeaseLost: (x) => lost.push(x),
    });
    expect(v).toBe('slow');
    expect(renewals.length).toBeGreaterThanOrEqual(2);
    expect(new Set(renewals)).toEqual(new Set([30]));
    expect(lost).toEqual([k]);
  });
});

describe('MemoryLockBackend renew', () => {
  it('cannot renew a lease that has expired, even when nobody took it', async () => {
    const clock = new ManualClock(0);
    const lock = new MemoryLockBackend(clock);
    const lease = (await lock.tryAcquire('k', 1000))!;
    clock.advance(999);
    expect(await lease.renew(1000)).toBe(true);
    clock.advance(1000);
    expect(await lease.renew(1000)).toBe(false);
    expect(lease.lost).toBe(true);
  });
});

describe('createLockBackend: URL shapes', () => {
  it('only a URL that starts with postgres:// or sqlite: selects those backends; the lease file sits beside the database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxo-lock2-'));
    const odd = createLockBackend({ databaseUrl: `sqlite:${dir}/postgres://x.db` });
    expect(odd.kind).toBe('sqlite');
    await odd.close();
    expect(createLockBackend({ databaseUrl: `xsqlite:${dir}/a.db` }).kind).toBe('memory');
    const file = createLockBackend({ databaseUrl: `sqlite:${dir}/wx.db?mode=rwc` });
    await (await file.tryAcquire('k', 1000))!.release();
    expect(existsSync(`${dir}/wx.db.leases`)).toBe(true);
    await file.close();
  });
});

describe('SqliteLeaseLockBackend details', () => {
  it('a holder whose pid cannot be read is treated as alive; release and close after close are harmless', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'wxo-lease2-')), 'wx.db.leases');
    const lock = new SqliteLeaseLockBackend(path);
    const lease = (await lock.tryAcquire('mine', 60_000))!;
    const db = new BetterSqlite3(path);
    db.prepare('INSERT INTO lease VALUES (?, ?, ?)').run('k', 'not-a-pid:x', Date.now() + 600_000);
    db.close();
    expect(await lock.tryAcquire('k', 1000)).toBeUndefined();
    await lock.close();
    await lock.close();
    await expect(lease.release()).resolves.toBeUndefined();
    expect(await lease.renew(1000)).toBe(false);
  });
});

describe('SqliteLeaseLockBackend: holders by pid', () => {
  // No process has this pid on any system (Linux caps pids at 2^22): process.kill answers ESRCH, "dead".
  const DEAD = 2147483647;
  const setup = (clock = new ManualClock(1_000_000)) => {
    const path = join(mkdtempSync(join(tmpdir(), 'wxo-lease3-')), 'wx.db.leases');
    const lock = new SqliteLeaseLockBackend(path, clock);
    const db = new BetterSqlite3(path);
    const hold = (k: string, holder: string) => db.prepare('INSERT INTO lease VALUES (?, ?, ?)').run(k, holder, clock.now() + 600_000);
    const holderOf = (k: string) => (db.prepare('SELECT holder FROM lease WHERE key = ?').get(k) as { holder: string } | undefined)?.holder;
    return { path, clock, lock, db, hold, holderOf };
  };

  it("takes over a dead holder's lease for the full ttl: others are refused and it can be renewed", async () => {
    const { path, clock, lock, db, hold, holderOf } = setup();
    hold('k', `${DEAD}:x`);
    const lease = (await lock.tryAcquire('k', 60_000))!;
    expect(lease).toBeDefined();
    expect(holderOf('k')).toMatch(new RegExp(`^${process.pid}:`));
    const other = new SqliteLeaseLockBackend(path, clock);
    expect(await other.tryAcquire('k', 1000)).toBeUndefined();
    clock.advance(59_000);
    expect(await lease.renew(60_000)).toBe(true);
    await lease.release();
    db.close();
    await other.close();
    await lock.close();
  });

  it('refuses when another holder got the lease between its delete of the dead one and its own insert', async () => {
    const { lock, db, hold, holderOf } = setup();
    hold('k', `${DEAD}:x`);
    // Stands for a second process that also saw the dead holder and was quicker: the row is someone else's again.
    db.exec(`CREATE TRIGGER quicker AFTER DELETE ON lease BEGIN INSERT INTO lease VALUES (old.key, '${process.pid}:quicker', old.expires_at); END`);
    expect(await lock.tryAcquire('k', 60_000)).toBeUndefined();
    expect(holderOf('k')).toBe(`${process.pid}:quicker`);
    db.close();
    await lock.close();
  });

  it('a negative pid is never signalled (it would name a process group): the holder counts as alive', async () => {
    const { lock, db, hold, holderOf } = setup();
    hold('k', `-${DEAD}:x`);
    expect(await lock.tryAcquire('k', 60_000)).toBeUndefined();
    expect(holderOf('k')).toBe(`-${DEAD}:x`);
    db.close();
    await lock.close();
  });

  it("a holder whose process belongs to another user (kill answers EPERM) is alive; ESRCH means dead", async () => {
    const { lock, db, hold, holderOf } = setup();
    const OTHER_USER = DEAD - 1;
    // A test run as root can signal every process, so the kernel's EPERM answer is simulated for one pid.
    const kill = process.kill.bind(process);
    vi.spyOn(process, 'kill').mockImplementation((pid: number, signal?: string | number) => {
      if (pid === OTHER_USER) throw Object.assign(new Error('kill EPERM'), { code: 'EPERM' });
      return kill(pid, signal);
    });
    hold('k', `${OTHER_USER}:x`);
    expect(await lock.tryAcquire('k', 60_000)).toBeUndefined();
    expect(holderOf('k')).toBe(`${OTHER_USER}:x`);
    hold('j', `${DEAD}:x`);
    const lease = await lock.tryAcquire('j', 60_000);
    expect(lease).toBeDefined();
    await lease!.release();
    db.close();
    await lock.close();
  });

  it('close() closes the file: a held lease can no longer be renewed or released, its row stays', async () => {
    const { lock, db, holderOf } = setup();
    const lease = (await lock.tryAcquire('mine', 60_000))!;
    await lock.close();
    expect(await lease.renew(60_000)).toBe(false);
    expect(lease.lost).toBe(true);
    await lease.release();
    expect(holderOf('mine')).toMatch(new RegExp(`^${process.pid}:`));
    db.close();
  });
});

describe.runIf(REDIS_URL)('RedisLockBackend details', () => {
  it('keys leases under wxopen:lock: by default; renew after release is refused without marking the lease lost; closes only its own connection', async () => {
    const raw = new Redis(REDIS_URL!);
    const lock = new RedisLockBackend(raw);
    const k = key();
    const lease = (await lock.tryAcquire(k, 60_000))!;
    expect(await raw.exists(`wxopen:lock:${k}`)).toBe(1);
    await lease.release();
    expect(await raw.exists(`wxopen:lock:${k}`)).toBe(0);
    expect(await lease.renew(1000)).toBe(false);
    expect(lease.lost).toBe(false);
    await lock.close();
    // The connection it was given still works (disconnect() would only show in raw.status later).
    expect(await raw.ping()).toBe('PONG');
    expect(raw.status).toBe('ready');
    raw.disconnect();
    const own = RedisLockBackend.fromUrl(REDIS_URL!, `wxopen:test:${process.pid}:`);
    const l2 = (await own.tryAcquire(k, 1000))!;
    await l2.release();
    await own.close();
    await expect(own.tryAcquire(k, 1000)).rejects.toThrow();
  });
});

describe.runIf(PG_URL)('PostgresLockBackend details', () => {
  it('names its sessions wxopen-lock and unlocks on release', async () => {
    const lock = new PostgresLockBackend(PG_URL!, 2);
    const probe = new pg.Client({ connectionString: PG_URL });
    await probe.connect();
    try {
      const k = key();
      const lease = (await lock.tryAcquire(k, 60_000))!;
      const r = await probe.query<{ n: string }>("select count(*) as n from pg_stat_activity where application_name = 'wxopen-lock' and pid in (select pid from pg_locks where locktype = 'advisory')");
      expect(Number(r.rows[0]!.n)).toBeGreaterThanOrEqual(1);
      expect(await lease.renew(60_000)).toBe(true);
      await lease.release();
      const other = new PostgresLockBackend(PG_URL!, 1);
      const again = await other.tryAcquire(k, 1000);
      expect(again).toBeDefined();
      await again!.release();
      await other.close();
    } finally {
      await probe.end();
      await lock.close();
    }
  });
});

describe.runIf(PG_URL)('PostgresLockBackend: the session dies under a held lease', () => {
  it('reports the error to its listeners, marks the lease lost, refuses renewal and releases without unlocking', async () => {
    const lock = new PostgresLockBackend(PG_URL!, 2);
    const errors: string[] = [];
    lock.onConnectionError((err) => errors.push(err.message));
    lock.onConnectionError(() => {
      throw new Error('a throwing listener is contained');
    });
    const probe = new pg.Client({ connectionString: PG_URL });
    await probe.connect();
    try {
      const k = key();
      const lease = (await lock.tryAcquire(k, 60_000))!;
      const holder = await probe.query<{ pid: number }>(
        "select pid from pg_locks where locktype = 'advisory' and objsubid = 1 and ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)",
        [k],
      );
      expect(holder.rows).toHaveLength(1);
      await probe.query('select pg_terminate_backend($1)', [holder.rows[0]!.pid]);
      for (let i = 0; i < 200 && !lease.lost; i++) await new Promise((r) => setTimeout(r, 10));
      expect(lease.lost).toBe(true);
      expect(errors.length).toBeGreaterThanOrEqual(1);
      expect(await lease.renew(60_000)).toBe(false);
      await lease.release();
      // PostgreSQL freed the lock with the session: another backend takes it at once.
      const other = new PostgresLockBackend(PG_URL!, 1);
      const next = await other.tryAcquire(k, 1000);
      expect(next).toBeDefined();
      await next!.release();
      await other.close();
    } finally {
      await probe.end();
      await lock.close();
    }
  });
});
