import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteLeaseLockBackend } from '../../src/lock/sqlite-lease.js';
import { ManualClock } from '../helpers/platform.js';
import { lockContract } from './lock-contract.js';

// Each handle is its own connection to one lease file: the server and a CLI command on one SQLite store.
const file = join(mkdtempSync(join(tmpdir(), 'wxopen-lease-')), 'wx.db.leases');
const clock = new ManualClock();
lockContract('SQLite lease file', () => new SqliteLeaseLockBackend(file, clock), async (ttl) => clock.advance(ttl + 1));
