/**
 * `npm run bench:push`: wxopen's push URLs against an independent baseline, over loopback.
 *
 * - wxopen runs as users run it: `node dist/cli/bin.js serve`, real mode, NODE_ENV=production,
 *   credentials from WXOPEN_* variables, SQLite (synchronous=full, the default), every WeChat host
 *   pointed at a dead loopback port (nothing leaves the machine).
 * - The baseline is bench/push-baseline.mjs: node:http + node:crypto only, nothing from src/ (a unit
 *   test keeps it so), every check the protocol requires, no storage.
 * - Each server is its own process, pinned to one core (`taskset`) when there are two or more; this
 *   process (the load generator, bench/lib/load.ts) is pinned to another. Rounds alternate the order
 *   of the two servers; every run is a fresh process (and a fresh database for wxopen).
 * - CPU time and peak RSS are read from /proc for the server's pid: CPU µs per request moves much less
 *   with the rest of the machine's load than req/s does (not at all is too much to hope on a shared VM).
 *
 * Env: BENCH_SECONDS (measured window per run, default 10), BENCH_WARMUP (default 3), BENCH_ROUNDS
 * (default 2), BENCH_CONNECTIONS (default 32), BENCH_ONLY (comma list of cases: ticket, authorized,
 * reply, message, forged), BENCH_POOL_RATE (req/s the pre-generated pushes are sized for, default
 * 40000), BENCH_CPU_PROF=<dir> (servers run with --cpu-prof into <dir>), BENCH_PIN=0 (no taskset),
 * BENCH_LOG_LEVEL (wxopen's LOG_LEVEL; default: wxopen's own default), BENCH_SQLITE_QUERY (appended to wxopen's
 * sqlite: URL, e.g. `?synchronous=normal`), BENCH_KEEP=1 (keep the servers' directories and logs), BENCH_WXOPEN_BIN
 * (another build's bin.js, e.g. to compare with an earlier commit).
 *
 * Output ends with one machine-readable line per case: `case <name> ratio <x> p99x <y> pass|fail`
 * (ratio = wxopen req/s ÷ baseline req/s; p99x = wxopen p99 ÷ baseline p99). Exit code 1 only when the
 * measurement is invalid (a server did not start, a sample push got the wrong answer, unexpected
 * answers under load), never because of a ratio.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decryptMessage } from '../src/crypto/message-cipher.js';
import { computeMsgSignature } from '../src/crypto/msg-signature.js';
import { parseXml } from '../src/xml/parse.js';
import { runLoad, type LoadResult } from './lib/load.js';
import { BENCH_ENV, CREDS, makePush, PushPool, RELEASE_TEST_TEXT, RELEASE_TEST_USERNAME, type Scenario } from './lib/pushes.js';

const env = process.env;
const num = (name: string, fallback: number): number => {
  const v = Number(env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const MEASURE_S = num('BENCH_SECONDS', 10);
const WARMUP_S = num('BENCH_WARMUP', 3);
const ROUNDS = Math.round(num('BENCH_ROUNDS', 2));
const CONNECTIONS = Math.round(num('BENCH_CONNECTIONS', 32));
const POOL_RATE = num('BENCH_POOL_RATE', 40_000);
const PROFILE_DIR = env.BENCH_CPU_PROF ? resolve(env.BENCH_CPU_PROF) : undefined;
const ALL: Scenario[] = ['ticket', 'authorized', 'reply', 'message', 'forged'];
const ONLY = (env.BENCH_ONLY ?? ALL.join(',')).split(',').map((s) => s.trim()) as Scenario[];
const PIN = env.BENCH_PIN !== '0' && cpus().length >= 2 && spawnSync('taskset', ['-V']).status === 0;
const SERVER_CPU = '0';
const LOAD_CPU = '1';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WXOPEN_BIN = env.BENCH_WXOPEN_BIN ? resolve(env.BENCH_WXOPEN_BIN) : join(ROOT, 'dist/cli/bin.js');
const BASELINE = join(ROOT, 'bench/push-baseline.mjs');
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

interface CaseSpec {
  name: Scenario;
  describe: string;
  okStatus: number;
  okBody: (body: string) => boolean;
  /** The fraction of the baseline's req/s to reach. */
  target: number;
  /** wxopen stores it before answering: the durable baseline runs too. */
  stored: boolean;
}

const CASES: CaseSpec[] = [
  { name: 'ticket', describe: 'component_verify_ticket → /wechat/component, stored durably before `success`', okStatus: 200, okBody: (b) => b === 'success', target: 0.85, stored: true },
  { name: 'authorized', describe: 'authorized event → /wechat/component, stored durably before `success`', okStatus: 200, okBody: (b) => b === 'success', target: 0.85, stored: true },
  {
    name: 'reply',
    describe: 'release-test text → encrypted text reply (built-in full-network-release responder), message stored',
    okStatus: 200,
    okBody: (b) => b.startsWith('<xml><Encrypt><![CDATA['),
    target: 0.85,
    stored: true,
  },
  { name: 'message', describe: 'user text → /wechat/authorizer/<appid>, stored durably, no reply (`success`)', okStatus: 200, okBody: (b) => b === 'success', target: 0.85, stored: true },
  { name: 'forged', describe: 'ticket push with a wrong msg_signature → refused 401, nothing decrypted', okStatus: 401, okBody: () => true, target: 1.0, stored: false },
];

/** `durable`: the baseline appending each accepted push to a file and answering after a group fsync (stored cases). */
type Side = 'wxopen' | 'baseline' | 'durable';

interface Run {
  side: Side;
  load: LoadResult;
  cpuMicros: number;
  peakRssMb: number;
}

let invalid = false;
let sampleCounter = 0;

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** utime + stime of a process, in µs (all its threads). */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
}

/** The process's peak resident set (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

class Server {
  private constructor(
    readonly side: Side,
    readonly proc: ChildProcess,
    readonly port: number,
    readonly log: string,
  ) {}

  static async start(side: Side, dir: string, deadPort: number, profileName: string): Promise<Server> {
    mkdirSync(dir, { recursive: true });
    const port = await freePort();
    const dead = `http://127.0.0.1:${deadPort}`;
    const childEnv: NodeJS.ProcessEnv = {
      PATH: env.PATH,
      HOME: dir,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      ...BENCH_ENV,
      WXOPEN_PUBLIC_URL: `http://127.0.0.1:${port}`,
      WXOPEN_SECRET_KEY: 'b3'.repeat(32),
      WXOPEN_DATABASE_URL: env.BENCH_DATABASE_URL ?? `sqlite:${join(dir, 'wxopen.db')}${env.BENCH_SQLITE_QUERY ?? ''}`,
      // Real WeChat is never contacted: every host is a loopback port nobody listens on.
      WXOPEN_API_BASE: dead,
      WXOPEN_API_BACKUP_BASES: dead,
      WXOPEN_MP_BASE: dead,
      WXOPEN_OPEN_BASE: dead,
      WXOPEN_ADMIN_PORT: '0',
      WXOPEN_ADMIN_TOKEN: 'bench-admin-token-0000000000',
      ...(env.BENCH_LOG_LEVEL && { LOG_LEVEL: env.BENCH_LOG_LEVEL }),
      ...(side === 'durable' && { BASELINE_JOURNAL: join(dir, 'journal.log') }),
    };
    const nodeArgs = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${join(PROFILE_DIR, profileName)}`] : [];
    const script = side === 'wxopen' ? [WXOPEN_BIN, 'serve'] : [BASELINE];
    const argv = [process.execPath, ...nodeArgs, ...script];
    const log = join(dir, `${side}.log`);
    const fd = openSync(log, 'a');
    const proc = PIN ? spawn('taskset', ['-c', SERVER_CPU, ...argv], { env: childEnv, cwd: dir, stdio: ['ignore', fd, fd] }) : spawn(argv[0]!, argv.slice(1), { env: childEnv, cwd: dir, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const server = new Server(side, proc, port, log);
    const deadline = Date.now() + 60_000;
    while (!/listening on http:\/\/127\.0\.0\.1:\d+/.test(readFileSync(log, 'utf8'))) {
      if (proc.exitCode !== null || Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`${side} did not start:\n${readFileSync(log, 'utf8').slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return server;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((res) => this.proc.once('exit', () => res()));
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** The reply case's sample answer must be the responder's reply: signed, decrypts, `…_callback`, To/From swapped. */
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

/** One push on its own connection, checked fully before the load starts. */
function postOnce(port: number, scenario: Scenario): Promise<{ status: number; body: string }> {
  const { path, push } = makePush(scenario, 1_000_000_000 + sampleCounter++, Math.floor(Date.now() / 1000));
  return new Promise((res, rej) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: `${path}?${new URLSearchParams(push.query).toString()}`, headers: { 'content-type': 'text/xml', connection: 'close' }, agent: false },
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

async function runOnce(spec: CaseSpec, side: Side, round: number, pool: PushPool, tmp: string, deadPort: number): Promise<Run | undefined> {
  const label = `${spec.name}-${side}-${round}`;
  let server: Server | undefined;
  try {
    server = await Server.start(side, join(tmp, label), deadPort, label);
    const sample = await postOnce(server.port, spec.name);
    const problem = sample.status !== spec.okStatus ? `status ${sample.status}` : spec.name === 'reply' ? checkReply(sample.body) : spec.okBody(sample.body) ? undefined : 'unexpected body';
    if (problem !== undefined) {
      console.error(`  ✗ ${label}: sample push: ${problem}: ${sample.body.slice(0, 300)}`);
      invalid = true;
      return undefined;
    }
    pool.rewind();
    const pid = server.pid;
    let cpuStart = NaN;
    let cpuEnd = NaN;
    process.stdout.write(`  ${spec.name.padEnd(10)} round ${round} ${side.padEnd(8)} … `);
    const load = await runLoad({
      port: server.port,
      connections: CONNECTIONS,
      warmupMs: WARMUP_S * 1000,
      measureMs: MEASURE_S * 1000,
      next: pool.next,
      okStatus: spec.okStatus,
      okBody: spec.okBody,
      onMeasureStart: () => (cpuStart = cpuMicros(pid)),
      onMeasureEnd: () => (cpuEnd = cpuMicros(pid)),
    });
    const peak = peakRssMb(pid);
    console.log(`${Math.round(load.rps)} req/s, p99 ${load.p99Ms.toFixed(2)} ms, ${((cpuEnd - cpuStart) / Math.max(1, load.requests)).toFixed(1)} CPU µs/req`);
    if (load.non200 + load.non200Warmup + load.badBody + load.socketErrors > 0) {
      invalid = true;
      console.error(`  ✗ ${label}: ${load.non200 + load.non200Warmup} unexpected statuses, ${load.badBody} unexpected bodies, ${load.socketErrors} socket errors; e.g. ${load.sample ?? '-'}`);
    }
    if (pool.onTheFly > 0) console.error(`  ! ${label}: ${pool.onTheFly} pushes were generated during the run (raise BENCH_POOL_RATE)`);
    pool.grow(Math.ceil(pool.used * 1.15));
    return { side, load, cpuMicros: cpuEnd - cpuStart, peakRssMb: peak };
  } catch (err) {
    invalid = true;
    console.error(`  ✗ ${label}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  } finally {
    await server?.stop();
  }
}

interface Totals {
  rps: number;
  p50: number;
  p99: number;
  cpuPerReq: number;
  peakRssMb: number;
  requests: number;
}

function totals(runs: Run[]): Totals | undefined {
  if (runs.length === 0) return undefined;
  const requests = runs.reduce((n, r) => n + r.load.requests, 0);
  const ms = runs.reduce((n, r) => n + r.load.measureMs, 0);
  const mean = (f: (r: Run) => number) => runs.reduce((n, r) => n + f(r), 0) / runs.length;
  return {
    rps: (requests * 1000) / ms,
    p50: mean((r) => r.load.p50Ms),
    p99: mean((r) => r.load.p99Ms),
    cpuPerReq: runs.reduce((n, r) => n + r.cpuMicros, 0) / Math.max(1, requests),
    peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
    requests,
  };
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/**
 * Whether this Node is one package.json's `engines` accepts (`^22.12.0 || ^24.0.0 || …`): figures from an
 * unsupported line say so, since an old V8 has costs of its own (Node 20 takes ~2 µs per object spread).
 */
function supportedNode(): boolean {
  const engines = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines?: { node?: string } }).engines?.node ?? '';
  const [major = 0, minor = 0, patch = 0] = process.versions.node.split('.').map(Number);
  return engines.split('||').some((range) => {
    const m = /^\s*\^(\d+)\.(\d+)\.(\d+)\s*$/.exec(range);
    return m !== null && major === Number(m[1]) && (minor > Number(m[2]) || (minor === Number(m[2]) && patch >= Number(m[3])));
  });
}

async function main(): Promise<void> {
  if (!existsSync(WXOPEN_BIN)) throw new Error(`${WXOPEN_BIN} is missing: run \`npm run build\` first (npm run bench:push does)`);
  if (PIN) spawnSync('taskset', ['-a', '-cp', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
  const tmp = mkdtempSync(join(tmpdir(), 'wxopen-bench-push-'));
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  const deadPort = await freePort();
  const load = await import('node:os').then((os) => os.loadavg().map((l) => l.toFixed(2)).join(' '));
  console.log(
    `bench:push — node ${process.version}${supportedNode() ? '' : ' (not a line wxopen supports: see engines in package.json)'}, ${cpus().length} CPUs, load average ${load}; ${PIN ? `servers on CPU ${SERVER_CPU}, load generator on CPU ${LOAD_CPU}` : 'not pinned'}; ` +
      `${CONNECTIONS} keep-alive connections; ${ROUNDS} rounds × (${WARMUP_S}s warm-up + ${MEASURE_S}s measured) per server and case` +
      (PROFILE_DIR ? `; CPU profiles → ${PROFILE_DIR}` : ''),
  );
  const results: { spec: CaseSpec; wx?: Totals; base?: Totals; durable?: Totals }[] = [];
  try {
    for (const spec of CASES) {
      if (!ONLY.includes(spec.name)) continue;
      const pool = new PushPool(spec.name);
      const t = Date.now();
      pool.grow(Math.ceil(POOL_RATE * (WARMUP_S + MEASURE_S)));
      console.log(`\n${spec.name}: ${spec.describe} (${pool.size} distinct pushes generated in ${Date.now() - t} ms)`);
      const runs: Run[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const sides: Side[] = spec.stored ? ['baseline', 'durable', 'wxopen'] : ['baseline', 'wxopen'];
        const order = round % 2 === 1 ? sides : sides.reverse();
        for (const side of order) {
          const run = await runOnce(spec, side, round, pool, tmp, deadPort);
          if (run) runs.push(run);
        }
      }
      const of = (side: Side) => totals(runs.filter((r) => r.side === side));
      results.push({ spec, wx: of('wxopen'), base: of('baseline'), durable: of('durable') });
    }
  } finally {
    if (env.BENCH_KEEP === undefined) rmSync(tmp, { recursive: true, force: true });
    else console.log(`(kept ${tmp})`);
  }

  const header = ['case', 'server', 'req/s', 'p50 ms', 'p99 ms', 'peak RSS MB', 'CPU µs/req', 'requests'];
  const rows: string[][] = [];
  const quotient = (name: string, label: string, a: Totals, b: Totals): string[] =>
    [name, label, fmt(a.rps / b.rps, 2), fmt(a.p50 / b.p50, 2), fmt(a.p99 / b.p99, 2), fmt(a.peakRssMb / b.peakRssMb, 2), fmt(a.cpuPerReq / b.cpuPerReq, 2), ''];
  for (const { spec, wx, base, durable } of results) {
    const sides = spec.stored ? ([['baseline', base], ['durable baseline', durable], ['wxopen', wx]] as const) : ([['baseline', base], ['wxopen', wx]] as const);
    for (const [side, t] of sides) {
      rows.push(t ? [spec.name, side, fmt(t.rps), fmt(t.p50, 2), fmt(t.p99, 2), fmt(t.peakRssMb), fmt(t.cpuPerReq, 1), String(t.requests)] : [spec.name, side, '-', '-', '-', '-', '-', '-']);
    }
    if (wx && base) rows.push(quotient(spec.name, 'wxopen ÷ baseline', wx, base));
    if (wx && durable) rows.push(quotient(spec.name, 'wxopen ÷ durable', wx, durable));
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(line(r));
  console.log(
    `\n(req/s over all rounds; p50/p99 the mean of the rounds'; CPU = the server process's user+system time in the measured ` +
      `windows ÷ requests answered, less sensitive than req/s to the machine's other load but not immune (cache and scheduler effects); peak RSS = VmHWM. Targets: valid cases ≥ 0.85×, ` +
      `forged ≥ 1.0×, p99 ≤ 2× the baseline's. The durable baseline is the same baseline appending each accepted push to a file and ` +
      `answering after a group fsync: the floor of any receiver that answers a stored case only once the push is on disk.)\n`,
  );
  for (const { spec, wx, base } of results) {
    const ratio = wx && base ? wx.rps / base.rps : NaN;
    const p99x = wx && base ? wx.p99 / base.p99 : NaN;
    const pass = ratio >= spec.target && p99x <= 2;
    console.log(`case ${spec.name} ratio ${fmt(ratio, 2)} p99x ${fmt(p99x, 2)} ${pass ? 'pass' : 'fail'}`);
  }
  for (const { spec, wx, durable } of results) {
    if (wx && durable) console.log(`durable ${spec.name} ratio ${fmt(wx.rps / durable.rps, 2)} p99x ${fmt(wx.p99 / durable.p99, 2)}`);
  }
  if (invalid) {
    console.error('\nINVALID RUN: see the errors above.');
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
