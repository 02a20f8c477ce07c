import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError } from './errors.js';

export type Env = Record<string, string | undefined>;

/**
 * The directory of the nearest package.json (from `cwd` upwards) that is wxopen or depends on it:
 * the project a CLI run or `npm start` belongs to, wherever inside it the command is typed.
 */
export function findProjectDir(cwd: string = process.cwd()): string | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; dependencies?: object; devDependencies?: object };
        if (pkg.name === 'wxopen' || (pkg.dependencies && 'wxopen' in pkg.dependencies) || (pkg.devDependencies && 'wxopen' in pkg.devDependencies)) return dir;
      } catch {
        // an unreadable package.json is not ours
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

export interface ProjectEnv {
  /** Where relative paths (the SQLite file, the sandbox state) resolve. */
  dir: string;
  /** The process environment over the project's `.env` (the environment wins). */
  env: Env;
  /** The `.env` file that was read, if any. */
  dotenvFile: string | undefined;
}

/**
 * The environment a command runs with: `process.env` over `<project>/.env`. The project is the nearest
 * wxopen package.json; failing that the directory of `WXOPEN_CONFIG_FILE`; failing that `cwd`.
 */
export function projectEnv(cwd: string = process.cwd(), env: Env = process.env): ProjectEnv {
  const configFile = env.WXOPEN_CONFIG_FILE;
  const dir = findProjectDir(cwd) ?? (configFile ? dirname(resolve(cwd, configFile)) : resolve(cwd));
  const file = join(dir, '.env');
  if (!existsSync(file)) return { dir, env: { ...env }, dotenvFile: undefined };
  let parsed: Env;
  try {
    // Node's own parser (>= 20.12): same syntax as `node --env-file`, no dependency.
    parsed = parseEnv(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError('.env', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return { dir, env: { ...parsed, ...env }, dotenvFile: file };
}
