/**
 * `npx tsx bench/push-handlers.ts [case] [n]`: CPU µs per push through wxopen's push handlers alone (no HTTP,
 * SQLite in memory), 32 pushes in flight per event-loop turn as under bench:push's 32 connections. Less
 * noisy than bench:push on a busy machine, so it is the quick before/after check for a change to the
 * handlers, crypto, XML or pipeline. BENCH_HANDLERS_PROF=<dir> writes a CPU profile of the measured part.
 * BENCH_HANDLERS_DB=file uses a SQLite file in a temporary directory instead (synchronous=full, the group
 * commit's fsync included) and also prints the bytes written per push (/proc/self/io `wchar`: what the
 * store hands the kernel, independent of the machine's load).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { createWxOpen } from '../src/server/create.js';
import { createPushHandlers } from '../src/server/push-handlers.js';
import { BENCH_ENV, makePush, type Scenario } from './lib/pushes.js';

const scenario = (process.argv[2] ?? 'ticket') as Scenario;
const n = Number(process.argv[3] ?? 20_000);
const profileDir = process.env.BENCH_HANDLERS_PROF;
const dead = 'http://127.0.0.1:9';
const dbDir = process.env.BENCH_HANDLERS_DB === 'file' ? mkdtempSync(join(tmpdir(), 'wxopen-handlers-')) : undefined;
// Linux only: elsewhere (or in memory mode, which writes nothing) there is no byte count to print.
const wchar = (): number => {
  if (!dbDir) return NaN;
  try {
    return Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
};

const wx = await createWxOpen({
  env: {
    ...BENCH_ENV,
    NODE_ENV: 'production',
    WXOPEN_PUBLIC_URL: 'http://127.0.0.1:1',
    WXOPEN_SECRET_KEY: 'b3'.repeat(32),
    WXOPEN_DATABASE_URL: dbDir ? `sqlite:${join(dbDir, 'wxopen.db')}` : 'sqlite::memory:',
    WXOPEN_API_BASE: dead,
    WXOPEN_API_BACKUP_BASES: dead,
    WXOPEN_MP_BASE: dead,
    WXOPEN_OPEN_BASE: dead,
    LOG_LEVEL: 'error',
  },
  ensureTicket: false,
  refresher: false,
  retention: false,
});
const handlers = createPushHandlers(wx.context);
const now = Math.floor(Date.now() / 1000);
const pushes = Array.from({ length: n * 2 }, (_, i) => {
  const { path, push } = makePush(scenario, i, now);
  return { appid: path.split('/')[3], query: push.query as Record<string, unknown>, body: Buffer.from(push.body).toString() };
});
const ip = () => '127.0.0.1';
const expected = scenario === 'forged' ? 401 : 200;

async function run(from: number): Promise<void> {
  for (let i = from; i < from + n; i += 32) {
    const batch = [];
    for (let j = i; j < Math.min(i + 32, from + n); j++) {
      const p = pushes[j]!;
      batch.push(p.appid ? handlers.authorizer(p.appid, p.query, p.body, ip) : handlers.component(p.query, p.body, ip));
    }
    const answers = await Promise.all(batch);
    if (answers.some((a) => a.status !== expected)) throw new Error(`unexpected answer ${JSON.stringify(answers.find((a) => a.status !== expected))}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

await run(0); // warm-up: the JIT and the store's statements
const session = new Session();
if (profileDir) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const before = process.cpuUsage();
const written = wchar();
await run(n);
const used = process.cpuUsage(before);
const bytes = (wchar() - written) / n;
if (profileDir) {
  const { profile } = await session.post('Profiler.stop');
  mkdirSync(profileDir, { recursive: true });
  writeFileSync(join(profileDir, `${scenario}.cpuprofile`), JSON.stringify(profile));
}
const io = Number.isFinite(bytes) ? `, ${(bytes / 1024).toFixed(1)} KB written per push` : '';
console.log(`${scenario}: ${((used.user + used.system) / n).toFixed(2)} CPU µs per push through the handlers (${n} pushes${dbDir ? ', SQLite file' : ''}${io})`);
await wx.close();
if (dbDir) rmSync(dbDir, { recursive: true, force: true });
