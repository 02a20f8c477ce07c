import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from './wait.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The compiled CLI, as `npx wxopen` and `npm start` run it. */
export const BIN = join(ROOT, 'dist/cli/bin.js');

function newest(dir: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return max;
}

/** The incremental build's record (tsconfig.build.json), inside dist/ so that deleting dist/ forgets it too. */
const BUILD_INFO = join(ROOT, 'dist/.tsbuildinfo');

/**
 * Compiles dist when src changed since the last build or one of `outputs` is missing (CI's `npm ci` builds it
 * already). The build is incremental: it rewrites only the outputs whose source changed, and nothing (not even
 * its record) when no content did, so output times cannot say whether dist is current. The record's time can:
 * a build run here stamps it with the moment it started.
 */
export function ensureBuilt(outputs: string[] = [BIN]): void {
  const present = outputs.every((o) => existsSync(o));
  if (present && existsSync(BUILD_INFO) && statSync(BUILD_INFO).mtimeMs >= newest(join(ROOT, 'src'))) return;
  // An incremental build does not notice an output deleted by hand; without its record, the build is a full one.
  if (!present) rmSync(BUILD_INFO, { force: true });
  const started = new Date();
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
  utimesSync(BUILD_INFO, started, started);
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI to completion with only `env` (plus PATH/HOME) in its environment. Asynchronous, so a
 * sandbox or server in this test process keeps answering while the CLI talks to it.
 */
export function wxopen(args: string[], options: { cwd: string; env?: Record<string, string>; onStdout?: (soFar: string) => void }): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    options.onStdout?.(stdout);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  return new Promise((resolve) => {
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Expected failures are one line on stderr and never a stack frame. */
export function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l !== '');
  if (lines.length !== 1 || /^\s+at /m.test(stderr)) throw new Error(`expected one line on stderr, got:\n${stderr}`);
  return lines[0]!;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free port whose two successors are free too (PORT, the embedded sandbox on PORT + 1, the operator listener on
 * PORT + 2). Chosen below the kernel's ephemeral range (32768–60999 here): a port from `listen(0)` lies inside
 * it, so any outgoing connection of a parallel test could take PORT + 1 between this check and the child's bind.
 * Each test process scans its own slice of 20000–32767 (by pid), so parallel files do not race for the same run.
 */
export async function freePortPair(): Promise<number> {
  const LOW = 20_000;
  const SPAN = 12_700;
  let next = LOW + ((process.pid * 97 + nextPairOffset) % SPAN);
  for (let tried = 0; tried < SPAN; tried++, next = LOW + ((next - LOW + 3) % SPAN)) {
    if ((await isFree(next)) && (await isFree(next + 1)) && (await isFree(next + 2))) {
      nextPairOffset += 3;
      return next;
    }
  }
  throw new Error('no free run of three ports below the ephemeral range');
}
let nextPairOffset = 0;

export interface ServeProcess {
  child: ChildProcess;
  out: string;
  url: string;
  sandboxUrl: string | undefined;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL (no cleanup at all) and wait for the exit. */
  kill9(): Promise<void>;
}

/** `wxopen serve` as a child; resolves once its banner is printed. */
export async function startServe(options: { cwd: string; env?: Record<string, string>; args?: string[] }): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', ...(options.args ?? [])], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within 45 s:\n${out}\n${err}`)), 45_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${out}\n${err}`));
    });
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      // The banner is one write: it ends with `try` beside a sandbox, else with the admin token (and its note),
      // which a log line may follow at once.
      if (/\n {2}try |\n {2}admin token .*\n( {24}\S.*\n)?(?! )/.test(out) && /listening on/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const proc: ServeProcess = {
    child,
    // Live: what the server writes after its banner (log lines) shows here too.
    get out() {
      return out;
    },
    url: /listening on (http:\/\/\S+)/.exec(out)![1]!,
    sandboxUrl: /WeChat sandbox +(http:\/\/\S+)/.exec(out)?.[1],
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
    async kill9() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  return proc;
}

/**
 * A project as `npm start` leaves it: a directory whose package.json depends on wxopen, its settings in `.env`
 * (a run of three free ports of its own), and `wxopen serve` running there with a fresh ticket.
 */
export async function startProject(prefix: string): Promise<{ dir: string; port: number; server: ServeProcess }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const port = await freePortPair();
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'shop', private: true, dependencies: { wxopen: '^0.1.0' } }));
  writeFileSync(join(dir, '.env'), `PORT=${port}\nLOG_LEVEL=warn\n`);
  const server = await startServe({ cwd: dir });
  await until('a fresh ticket', async () => ((await (await fetch(`${server.url}/healthz`)).text()).includes('"fresh"') ? true : undefined), { intervalMs: 200 });
  return { dir, port, server };
}
