import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = join(ROOT, 'node_modules/.cache/wxopen-test/token-worker.mjs');

/** Bundles the worker once so each process starts in ~0.2 s instead of compiling TypeScript again. */
export async function bundleWorker(): Promise<string> {
  return bundleScript('token-worker');
}

/** Bundles `test/helpers/<name>.ts` into a runnable script (see bundleWorker). */
export async function bundleScript(name: string): Promise<string> {
  const out = join(OUT, '..', `${name}.mjs`);
  mkdirSync(join(OUT, '..'), { recursive: true });
  await build({
    entryPoints: [join(ROOT, `test/helpers/${name}.ts`)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: out,
    logLevel: 'warning',
  });
  return out;
}

export interface Worker {
  child: ChildProcessWithoutNullStreams;
  ready: Promise<void>;
  /** Lines printed after "ready". */
  lines: string[];
  exited: Promise<number | null>;
}

export function spawnWorker(script: string, env: Record<string, string | undefined>): Worker {
  const child = spawn(process.execPath, [script], { cwd: ROOT, env: { PATH: process.env.PATH, ...env } });
  const lines: string[] = [];
  let buffer = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      let i: number;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        if (line === 'ready') resolve();
        else lines.push(line);
      }
    });
    void exited.then((code) => reject(new Error(`worker exited (${code}) before ready: ${stderr.slice(0, 2000)}`)));
  });
  return { child, ready, lines, exited };
}
