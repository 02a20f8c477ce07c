/**
 * `npm run bench:push`: wxopen's push endpoints vs a minimal node:http server doing the same
 * verify + decrypt + parse, over loopback, each server in its own child process (bench/push-server.ts)
 * and the load generator (bench/lib/load.ts) here in the parent.
 *
 * Env: BENCH_SECONDS (measured window, default 10), BENCH_WARMUP (default 5), BENCH_CONNECTIONS
 * (keep-alive connections, default 32), BENCH_POOL_RATE (req/s the pre-generated pool is sized for,
 * default 40000), BENCH_CPU_PROF=<dir> (run the servers with --cpu-prof into <dir>), BENCH_ONLY
 * (comma list of scenarios: ticket,message,reply), BENCH_LOG_LEVEL (wxopen's, default warn).
 *
 * Exit code: 0 whatever the ratio (it is a report); 1 only if the measurement itself is invalid (a
 * server failed to start, the sample push was not answered `success`, or non-200 answers occurred).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLoad, type LoadResult } from './lib/load.js';
import { decryptMessage } from '../src/crypto/message-cipher.js';
import { computeMsgSignature } from '../src/crypto/msg-signature.js';
import { parseXml } from '../src/xml/parse.js';
import { CREDS, makePush, PushPool, RELEASE_TEST_TEXT, RELEASE_TEST_USERNAME, type Scenario } from './lib/pushes.js';
import type { FromChild, ToChild } from './push-server.js';

const env = process.env;
const num = (name: string, fallback: number): number => {
  const v = Number(env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const MEASURE_S = num('BENCH_SECONDS', 10);
const WARMUP_S = num('BENCH_WARMUP', 5);
const CONNECTIONS = Math.round(num('BENCH_CONNECTIONS', 32));
const POOL_RATE = num('BENCH_POOL_RATE', 40_000);
const PROFILE_DIR = env.BENCH_CPU_PROF ? resolve(env.BENCH_CPU_PROF) : undefined;
const ONLY = (env.BENCH_ONLY ?? 'ticket,message,reply').split(',').map((s) => s.trim());
const TARGET = 0.85;
const SERVER_SOURCE = fileURLToPath(new URL('./push-server.ts', import.meta.url));
const SERVER_ENTRY = fileURLToPath(new URL('../node_modules/.cache/wxopen-bench/push-server.mjs', import.meta.url));

/**
 * Both servers run as plain JavaScript, as `npm start` runs wxopen (compiled), not under the tsx loader,
 * whose loader thread and per-closure helpers would tax every request of both.
 */
async function bundleServer(): Promise<void> {
  const { build } = await import('esbuild');
  await build({ entryPoints: [SERVER_SOURCE], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile: SERVER_ENTRY, logLevel: 'warning' });
}

interface ServerSpec {
  label: string;
  kind: 'wxopen' | 'minimal';
  /** For wxopen: the query appended to `sqlite:<dir>/bench.db` (e.g. `?synchronous=normal`). */
  sqliteQuery?: string;
}

interface Row {
  scenario: Scenario;
  spec: ServerSpec;
  load: LoadResult;
  rssIdleMb: number;
  rssPeakMb: number;
  cpuMicrosPerReq: number;
  cpuPercent: number;
  onTheFly: number;
}

let invalid = false;
let sampleCounter = 0;

class Child {
  private readonly proc: ChildProcess;
  private readonly waiters = new Map<number, (m: Extract<FromChild, { type: 'probe' }>) => void>();
  private nextId = 0;
  readonly ready: Promise<number>;
  readonly exited: Promise<void>;

  constructor(args: string[], profileName: string) {
    const execArgv: string[] = [];
    // One directory per server for its CPU profile.
    if (PROFILE_DIR) execArgv.push('--cpu-prof', `--cpu-prof-dir=${join(PROFILE_DIR, profileName)}`);
    this.proc = fork(SERVER_ENTRY, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.exited = new Promise((res) => this.proc.once('exit', () => res()));
    this.ready = new Promise((res, rej) => {
      this.proc.on('message', (m: FromChild) => {
        if (m.type === 'ready') res(m.port);
        else if (m.type === 'fatal') rej(new Error(m.message));
        else if (m.type === 'probe') {
          this.waiters.get(m.id)?.(m);
          this.waiters.delete(m.id);
        }
      });
      this.proc.once('exit', (code) => rej(new Error(`server exited with code ${code} before it was ready`)));
    });
  }

  private post(message: ToChild): void {
    this.proc.send(message);
  }

  probe(): Promise<{ rss: number; cpuMicros: number }> {
    const id = this.nextId++;
    return new Promise((res) => {
      this.waiters.set(id, res);
      this.post({ type: 'probe', id });
    });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.connected) this.post({ type: 'stop' });
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * The reply scenario's sample answer must be the release responder's encrypted text reply: signature over
 * what it emits, decrypts under the component key, `<Content>` exactly `…_callback`, To/From swapped.
 */
function checkReply(body: string): string | undefined {
  try {
    const outer = parseXml(body) as Record<string, string>;
    if (computeMsgSignature(CREDS.token, outer.TimeStamp!, outer.Nonce!, outer.Encrypt!) !== outer.MsgSignature) return 'bad MsgSignature';
    const inner = parseXml(decryptMessage(outer.Encrypt!, CREDS.aesKey, CREDS.componentAppid).message);
    if (inner.Content !== `${RELEASE_TEST_TEXT}_callback` || inner.FromUserName !== RELEASE_TEST_USERNAME || inner.MsgType !== 'text') return `unexpected reply ${JSON.stringify(inner)}`;
    return undefined;
  } catch (err) {
    return `reply cannot be opened: ${String(err)}`;
  }
}

/** Cheap per-request check for the load generator (the sample request is checked fully). */
const okBody = (scenario: Scenario) => (scenario === 'reply' ? (b: string) => b.startsWith('<xml><Encrypt><![CDATA[') : (b: string) => b === 'success');

/** One request on its own connection (not the load generator): checks the server answers `success`. */
function postOnce(port: number, scenario: Scenario): Promise<{ status: number; body: string }> {
  const { path, push } = makePush(scenario, 1_000_000_000 + sampleCounter++, Math.floor(Date.now() / 1000));
  return new Promise((res, rej) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `${path}?${new URLSearchParams(push.query).toString()}`,
        headers: { 'content-type': 'text/xml', connection: 'close' },
        agent: false,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (c: string) => (body += c));
        response.on('end', () => res({ status: response.statusCode ?? 0, body }));
      },
    );
    req.on('error', rej);
    req.end(push.body);
  });
}

async function runServer(scenario: Scenario, spec: ServerSpec, pool: PushPool, tmp: string): Promise<Row | undefined> {
  const args: string[] = [spec.kind];
  if (spec.kind === 'wxopen') {
    const dir = join(tmp, `${scenario}-${spec.label.replace(/\W+/g, '_')}`);
    mkdirSync(dir, { recursive: true });
    args.push(`sqlite:${join(dir, 'bench.db')}${spec.sqliteQuery ?? ''}`);
  }
  const child = new Child(args, `${scenario}-${spec.label.replace(/\W+/g, '_')}`);
  try {
    const port = await child.ready;
    const sample = await postOnce(port, scenario);
    const sampleProblem = scenario === 'reply' ? (sample.status === 200 ? checkReply(sample.body) : 'not 200') : sample.body === 'success' ? undefined : 'not success';
    if (sample.status !== 200 || sampleProblem !== undefined) {
      console.error(`  ✗ ${scenario}/${spec.label}: sample push answered ${sample.status} ${sample.body.slice(0, 300)}`);
      invalid = true;
      return undefined;
    }
    const idle = await child.probe();
    pool.rewind();
    let cpuStart: Promise<{ rss: number; cpuMicros: number }> | undefined;
    let cpuEnd: Promise<{ rss: number; cpuMicros: number }> | undefined;
    let sampler: NodeJS.Timeout | undefined;
    const rssSamples: Promise<{ rss: number }>[] = [];
    process.stdout.write(`  ${scenario.padEnd(8)} ${spec.label.padEnd(34)} warm-up ${WARMUP_S}s + ${MEASURE_S}s … `);
    const load = await runLoad({
      port,
      connections: CONNECTIONS,
      warmupMs: WARMUP_S * 1000,
      measureMs: MEASURE_S * 1000,
      next: pool.next,
      okBody: okBody(scenario),
      onMeasureStart: () => {
        cpuStart = child.probe();
        sampler = setInterval(() => rssSamples.push(child.probe()), 500);
      },
      onMeasureEnd: () => {
        clearInterval(sampler);
        cpuEnd = child.probe();
      },
    });
    if (!cpuStart || !cpuEnd) throw new Error('measure window callbacks did not run');
    const [a, b, ...samples] = await Promise.all([cpuStart, cpuEnd, ...rssSamples]);
    const cpu = b.cpuMicros - a.cpuMicros;
    console.log(`${Math.round(load.rps)} req/s`);
    if (load.non200 + load.non200Warmup + load.badBody + load.socketErrors > 0) {
      invalid = true;
      console.error(`  ✗ unexpected answers: ${load.sample ?? '(socket errors)'}`);
    }
    const onTheFly = pool.onTheFly;
    pool.grow(Math.ceil(pool.used * 1.15)); // a later, faster server must not run out either
    return {
      scenario,
      spec,
      load,
      rssIdleMb: idle.rss / 2 ** 20,
      rssPeakMb: Math.max(b.rss, ...samples.map((s) => s.rss)) / 2 ** 20,
      cpuMicrosPerReq: load.requests > 0 ? cpu / load.requests : NaN,
      cpuPercent: (cpu / 1000 / load.measureMs) * 100,
      onTheFly,
    };
  } catch (err) {
    invalid = true;
    console.error(`  ✗ ${scenario}/${spec.label}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  } finally {
    await child.stop();
  }
}

const MINIMAL: ServerSpec = { label: 'minimal (node:http)', kind: 'minimal' };
const WXOPEN_FULL: ServerSpec = { label: 'wxopen (sqlite synchronous=full)', kind: 'wxopen' };
const WXOPEN_NORMAL: ServerSpec = { label: 'wxopen (sqlite synchronous=normal)', kind: 'wxopen', sqliteQuery: '?synchronous=normal' };
const WXOPEN_MESSAGE: ServerSpec = { label: 'wxopen', kind: 'wxopen' };

const SCENARIOS: { scenario: Scenario; servers: ServerSpec[]; describe: string }[] = [
  { scenario: 'ticket', servers: [MINIMAL, WXOPEN_FULL, WXOPEN_NORMAL], describe: 'component_verify_ticket → POST /wechat/component' },
  { scenario: 'message', servers: [MINIMAL, WXOPEN_MESSAGE], describe: 'user text message → POST /wechat/authorizer/<appid>' },
  {
    scenario: 'reply',
    servers: [MINIMAL, WXOPEN_MESSAGE],
    describe: 'release-test text → encrypted text reply (built-in responder) → POST /wechat/authorizer/<test appid>',
  },
];

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

function summary(label: string, wx: Row | undefined, min: Row | undefined): string {
  if (!wx || !min) return `${label}: not measured (see errors above)`;
  const ratio = wx.load.rps / min.load.rps;
  return (
    `${label}: wxopen ${fmt(wx.load.rps)} req/s vs minimal ${fmt(min.load.rps)} req/s → ratio ${fmt(ratio, 2)} ` +
    `(target ≥ ${TARGET}) ${ratio >= TARGET ? 'PASS' : 'FAIL'}`
  );
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'wxopen-bench-'));
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  await bundleServer();
  console.log(
    `bench:push — node ${process.version}, ${cpus().length} CPUs, ${CONNECTIONS} keep-alive connections, ` +
      `${WARMUP_S}s warm-up + ${MEASURE_S}s measured per server, sqlite under ${tmp}` +
      (PROFILE_DIR ? `, CPU profiles → ${PROFILE_DIR}` : ''),
  );
  const rows: Row[] = [];
  const idle = new Child(['idle'], 'idle');
  await idle.ready;
  const baselineMb = (await idle.probe()).rss / 2 ** 20;
  await idle.stop();
  try {
    for (const { scenario, servers, describe } of SCENARIOS) {
      if (!ONLY.includes(scenario)) continue;
      const pool = new PushPool(scenario);
      const t = Date.now();
      pool.grow(Math.ceil(POOL_RATE * (WARMUP_S + MEASURE_S)));
      console.log(`\n${scenario}: ${describe} (${pool.size} distinct pushes pre-generated in ${Date.now() - t} ms)`);
      for (const spec of servers) {
        const row = await runServer(scenario, spec, pool, tmp);
        if (row) rows.push(row);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const header = ['scenario', 'server', 'req/s', 'p50 ms', 'p99 ms', 'RSS idle/peak MB', 'CPU µs/req', 'CPU %', 'non-200', 'requests'];
  const table = rows.map((r) => [
    r.scenario,
    r.spec.label,
    fmt(r.load.rps),
    fmt(r.load.p50Ms, 2),
    fmt(r.load.p99Ms, 2),
    `${fmt(r.rssIdleMb)} / ${fmt(r.rssPeakMb)}`,
    fmt(r.cpuMicrosPerReq, 1),
    fmt(r.cpuPercent),
    String(r.load.non200Warmup + r.load.non200 + r.load.badBody) + (r.load.socketErrors ? ` (+${r.load.socketErrors} socket errors)` : ''),
    String(r.load.requests) + (r.onTheFly ? ` (${r.onTheFly} generated on the fly!)` : ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const row of table) console.log(line(row));
  console.log(
    `(RSS includes ~${fmt(baselineMb)} MB that an idle node child already uses; CPU = the server process's ` +
      'user+system time in the measured window, per answered request; non-200 counts warm-up too)\n',
  );

  const find = (scenario: Scenario, spec: ServerSpec) => rows.find((r) => r.scenario === scenario && r.spec === spec);
  if (ONLY.includes('ticket')) {
    console.log(summary('ticket', find('ticket', WXOPEN_FULL), find('ticket', MINIMAL)));
    console.log(summary('ticket (sqlite synchronous=normal)', find('ticket', WXOPEN_NORMAL), find('ticket', MINIMAL)));
  }
  if (ONLY.includes('message')) console.log(summary('message', find('message', WXOPEN_MESSAGE), find('message', MINIMAL)));
  if (ONLY.includes('reply')) console.log(summary('reply', find('reply', WXOPEN_MESSAGE), find('reply', MINIMAL)));
  if (invalid) {
    console.error('\nINVALID RUN: see the errors above (non-200 answers, failed sample or server start).');
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
