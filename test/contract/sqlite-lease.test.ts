import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteLeaseLockBackend } from '../../src/lock/sqlite-lease.js';
import { ManualClock } from '../helpers/platform.js';
import { lockContract } from './lock-contract.js';

// Each handle is its own connection to one lease file: the server and a CLI command on one SQLite store.
const file = join(mkdtempSync(join(tmpdir(), 'wxopen-lease-')), 'wx.db.leases');
const clock = new ManualClock();
lockContract('SQLite lease file', () => new SqliteLeaseLockBackend(file, clock), async (ttl) => clock.advance(ttl + 1));

describe('SQLite lease file: a dead holder', () => {
  it('is taken over at once (kill -9 mid-refresh does not block the others until the lease expires)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'wxopen-lease-')), 'wx.db.leases');
    // A process that takes a 10-minute lease and is then killed.
    const child = spawn(process.execPath, ['--input-type=module', '-e', `
      import B from ${JSON.stringify(join(process.cwd(), 'node_modules/better-sqlite3/lib/index.js'))};
      const db = new B(${JSON.stringify(path)});
      db.exec('CREATE TABLE IF NOT EXISTS lease (key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL)');
      db.prepare('INSERT INTO lease VALUES (?, ?, ?)').run('k', process.pid + ':x', Date.now() + 600000);
      console.log('held'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const lock = new SqliteLeaseLockBackend(path);
    try {
      expect(await lock.tryAcquire('k', 30_000)).toBeUndefined();
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const lease = await lock.tryAcquire('k', 30_000);
      expect(lease).toBeDefined();
      await lease!.release();
    } finally {
      await lock.close();
    }
  });
});
