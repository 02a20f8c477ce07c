import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_KEYS, SANDBOX_DEFAULTS, loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { ROOT, ensureBuilt } from '../helpers/cli.js';
import { dockerIgnored, envOf, findAll, healthcheckOf, interpolate, parseDockerfile, parseNginx, type NginxDirective, type Stage } from '../helpers/deploy-files.js';
import { freePorts } from '../helpers/ports.js';

// No container engine runs here: these tests read the deployment files as the engine would and run
// the commands they name directly, with the container's environment, on loopback ports.

const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const dockerfile = parseDockerfile(read('Dockerfile'));
const runtime = dockerfile.stages.at(-1)!;
const imageEnv = envOf(runtime);
const compose = parse(read('compose.yaml'), { merge: true }) as {
  services: Record<string, Service>;
  networks: Record<string, { ipam?: { config?: { subnet: string }[] } }>;
};
const nginx = parseNginx(read('deploy/nginx.conf'));

interface Service {
  build?: string;
  image?: string;
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
  volumes?: string[];
  networks?: Record<string, { ipv4_address?: string } | null>;
  command?: string[];
}

const wxopenServices = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);
/** What the operator puts in `.env` (deploy/env.example lists the same names). */
const dotEnv: Record<string, string> = {
  WXOPEN_COMPONENT_APPID: SANDBOX_DEFAULTS.WXOPEN_COMPONENT_APPID,
  WXOPEN_COMPONENT_SECRET: SANDBOX_DEFAULTS.WXOPEN_COMPONENT_SECRET,
  WXOPEN_TOKEN: SANDBOX_DEFAULTS.WXOPEN_TOKEN,
  WXOPEN_ENCODING_AES_KEY: SANDBOX_DEFAULTS.WXOPEN_ENCODING_AES_KEY,
  WXOPEN_SECRET_KEY: SANDBOX_DEFAULTS.WXOPEN_SECRET_KEY,
  WXOPEN_PUBLIC_URL: 'https://wx.example.com',
  WXOPEN_ADMIN_TOKEN: 'operator-token-for-the-deploy-test',
  POSTGRES_PASSWORD: 'pw',
};
/** A wxopen service's environment as the container receives it: the image's ENV, then compose's. */
function containerEnv(service: Service, vars = dotEnv): Record<string, string> {
  const env: Record<string, string> = { ...imageEnv };
  for (const [k, v] of Object.entries(service.environment ?? {})) env[k] = interpolate(String(v), vars);
  return env;
}

function instructions(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

describe('Dockerfile', () => {
  it('builds in one stage and runs in another, from the same Node base', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    const build = dockerfile.stages.find((s) => s.name === 'build')!;
    expect(build, 'a stage named build').toBeDefined();
    expect(runtime.name).toBe('runtime');
    expect(runtime.base).toBe(build.base);
    expect(runtime.base).toMatch(/^node:\$\{NODE_VERSION\}-\S*slim$/);
    const nodeVersion = dockerfile.args.find((a) => a.args.startsWith('NODE_VERSION='))?.args.split('=')[1];
    expect(Number(nodeVersion)).toBeGreaterThanOrEqual(22);
  });

  it('builds with dev dependencies and the native addon, then keeps production dependencies only', () => {
    const build = dockerfile.stages.find((s) => s.name === 'build')!;
    const runs = instructions(build, 'RUN').join('\n');
    expect(runs).toMatch(/npm ci\b/);
    expect(runs).not.toMatch(/npm ci[^\n&]*--omit=dev/); // tsc is a devDependency
    expect(runs).toMatch(/npm rebuild better-sqlite3/);
    expect(runs).toMatch(/npm run build/);
    expect(runs).toMatch(/npm prune --omit=dev/);
    // The runtime stage installs and compiles nothing: it copies the build stage's results.
    expect(instructions(runtime, 'RUN').join('\n')).not.toMatch(/npm|apt-get|node-gyp/);
    const copies = instructions(runtime, 'COPY');
    for (const what of ['/app/node_modules', '/app/dist', '/app/package.json']) {
      expect(copies.some((c) => c.startsWith('--from=build') && c.includes(what)), `runtime copies ${what} from build`).toBe(true);
    }
  });

  it('copies into the build only files the build context keeps (.dockerignore)', () => {
    const ignore = read('.dockerignore');
    const build = dockerfile.stages.find((s) => s.name === 'build')!;
    const sources = instructions(build, 'COPY').flatMap((c) => c.split(/\s+/).slice(0, -1));
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'src']));
    for (const source of sources) {
      expect(existsSync(join(ROOT, source)), `${source} exists`).toBe(true);
      expect(dockerIgnored(ignore, source), `${source} is not excluded by .dockerignore`).toBe(false);
    }
    for (const heavy of ['node_modules', 'dist', '.git', 'data/wxopen.db', '.env', 'test']) expect(dockerIgnored(ignore, heavy), heavy).toBe(true);
  });

  it('runs as a non-root user, with a data volume, the public port exposed and a HEALTHCHECK on /healthz', () => {
    const user = instructions(runtime, 'USER').at(-1);
    expect(user).toBeDefined();
    expect(user!.split(':')[0]).not.toMatch(/^(root|0)$/);
    const volume = instructions(runtime, 'VOLUME').join(' ');
    const dataDir = /^sqlite:(\/[^?]+)\/[^/?]+/.exec(imageEnv.WXOPEN_DATABASE_URL ?? '')?.[1];
    expect(dataDir, 'the default database lives in a directory').toBeDefined();
    expect(volume).toContain(`"${dataDir}"`);
    expect(instructions(runtime, 'EXPOSE')).toEqual([imageEnv.PORT]);
    expect(imageEnv.WXOPEN_ADMIN_HOST).toBe('127.0.0.1');
    const hc = healthcheckOf(runtime)!;
    expect(hc.argv[0]).toBe('node');
    expect(hc.argv.join(' ')).toContain('/healthz');
    expect(hc.options).toMatchObject({ interval: expect.any(String), timeout: expect.any(String) });
  });

  it('sets only variables wxopen reads, and in production refuses to start without credentials', () => {
    for (const key of Object.keys(imageEnv)) expect(CONFIG_KEYS.has(key), `${key} is a configuration variable`).toBe(true);
    try {
      loadConfig({ ...imageEnv });
      expect.unreachable('the image alone must not start the public demo sandbox');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe('WXOPEN_MODE');
    }
  });
});

describe('compose.yaml', () => {
  it('has PostgreSQL, Redis, two wxopen instances of the image and nginx, each with a healthcheck', () => {
    expect(wxopenServices.length).toBe(2);
    for (const [name, s] of wxopenServices) {
      expect(s.build, name).toBe('.');
      expect(s.healthcheck, `${name} keeps the image's HEALTHCHECK`).toBeUndefined();
      expect(s.ports, `${name} publishes nothing: nginx is the way in`).toBeUndefined();
      expect(s.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
    }
    for (const name of ['postgres', 'redis', 'nginx']) expect(compose.services[name]?.healthcheck?.test[0], `${name} healthcheck`).toBe('CMD');
    expect(compose.services.nginx!.depends_on).toEqual(Object.fromEntries(wxopenServices.map(([n]) => [n, { condition: 'service_healthy' }])));
  });

  it('gives each instance a configuration wxopen accepts: real mode, PostgreSQL, Redis, the proxy trusted', () => {
    const nginxIp = compose.services.nginx!.networks!.wxopen!.ipv4_address!;
    const subnet = compose.networks.wxopen!.ipam!.config![0]!.subnet;
    expect(nginxIp.split('.').slice(0, 3).join('.')).toBe(subnet.split('.').slice(0, 3).join('.'));
    for (const [name, s] of wxopenServices) {
      const env = containerEnv(s);
      for (const key of Object.keys(env)) expect(CONFIG_KEYS.has(key), `${name}: ${key} is a configuration variable`).toBe(true);
      const config = loadConfig(env, { baseDir: '/app' });
      expect(config.mode).toBe('real');
      expect(new URL(config.databaseUrl).hostname).toBe('postgres');
      expect(new URL(config.redisUrl!).hostname).toBe('redis');
      expect(config.trustProxy).toEqual([nginxIp]);
      expect(config.adminHost).toBe('0.0.0.0');
      expect(config.adminToken).toBe(dotEnv.WXOPEN_ADMIN_TOKEN);
      expect(config.secretKeys).toEqual([dotEnv.WXOPEN_SECRET_KEY]);
      expect(config.encodingAesKeys).toEqual([dotEnv.WXOPEN_ENCODING_AES_KEY]);
    }
    expect(containerEnv(wxopenServices[0]![1])).toEqual(containerEnv(wxopenServices[1]![1]));
  });

  it('refuses to render without a required secret, naming it', () => {
    const { WXOPEN_SECRET_KEY: _, ...missing } = dotEnv;
    expect(() => containerEnv(wxopenServices[0]![1], missing)).toThrow(/WXOPEN_SECRET_KEY/);
    const example = read('deploy/env.example');
    const required = new Set([...read('compose.yaml').matchAll(/\$\{([A-Z_]+):\?/g)].map((m) => m[1]!));
    for (const name of required) expect(example, `deploy/env.example names ${name}`).toMatch(new RegExp(`^${name}=`, 'm'));
  });

  it('uses the same user and database in PostgreSQL as in the URL wxopen gets', () => {
    const pg = compose.services.postgres!;
    const url = new URL(containerEnv(wxopenServices[0]![1]).WXOPEN_DATABASE_URL!);
    expect(url.username).toBe(pg.environment!.POSTGRES_USER);
    expect(url.pathname.slice(1)).toBe(pg.environment!.POSTGRES_DB);
    expect(decodeURIComponent(url.password)).toBe(interpolate(String(pg.environment!.POSTGRES_PASSWORD), dotEnv));
  });
});

describe('deploy/nginx.conf', () => {
  const server = (listen: string): NginxDirective => {
    const found = findAll(nginx, 'server').find((s) => s.block?.some((d) => d.name === 'listen' && d.args[0] === listen));
    if (!found) throw new Error(`no server listening on ${listen}`);
    return found;
  };
  const upstream = (name: string) => findAll(nginx, 'upstream').find((u) => u.args[0] === name)?.block ?? [];
  const header = (block: NginxDirective, name: string) => findAll([block], 'proxy_set_header').find((d) => d.args[0] === name)?.args[1];

  it('parses: balanced blocks, every directive terminated', () => {
    expect(nginx.map((d) => d.name)).toEqual(expect.arrayContaining(['events', 'http']));
    expect(() => parseNginx('http { server { listen 80 } }')).toThrow(/lacks its ;/);
    expect(() => parseNginx('http { server { listen 80; }')).toThrow(/unclosed/);
  });

  it('balances the public and the operator listeners over every wxopen instance', () => {
    const env = containerEnv(wxopenServices[0]![1]);
    const servers = (u: string) => upstream(u).filter((d) => d.name === 'server').map((d) => d.args[0]);
    expect(servers('wxopen_public')).toEqual(wxopenServices.map(([n]) => `${n}:${env.PORT}`));
    expect(servers('wxopen_admin')).toEqual(wxopenServices.map(([n]) => `${n}:${env.WXOPEN_ADMIN_PORT}`));
    const upstreams = new Set(findAll(nginx, 'upstream').map((u) => u.args[0]));
    for (const pass of findAll(nginx, 'proxy_pass')) expect(upstreams.has(new URL(pass.args[0]!).hostname), pass.args[0]).toBe(true);
  });

  it('terminates TLS with the mounted certificate and sets the headers wxopen trusts from it', () => {
    const https = server('443');
    const mount = compose.services.nginx!.volumes!.find((v) => v.startsWith('./deploy/certs:'))!.split(':')[1]!;
    for (const d of ['ssl_certificate', 'ssl_certificate_key']) expect(findAll([https], d)[0]?.args[0]).toMatch(new RegExp(`^${mount}/`));
    expect(header(https, 'X-Forwarded-For')).toBe('$remote_addr');
    expect(header(https, 'X-Forwarded-Proto')).toBe('$scheme');
    expect(header(https, 'Host')).toBe('$host');
    // The dashboard compares a form's Origin with Host, port included.
    expect(header(server('8080'), 'Host')).toBe('$http_host');
    expect(compose.services.nginx!.ports).toContain('127.0.0.1:8080:8080');
    expect(compose.services.nginx!.healthcheck!.test.join(' ')).toContain('/healthz');
    expect(findAll([server('80')], 'location').some((l) => l.args.join(' ') === '= /healthz')).toBe(true);
  });
});

describe('the image commands, run directly', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let ports: number[];
  let out = '';

  const entrypoint = JSON.parse(instructions(runtime, 'ENTRYPOINT')[0]!) as string[];
  const cmd = JSON.parse(instructions(runtime, 'CMD')[0]!) as string[];
  const node = (argv: string[]) => (argv[0] === 'node' ? [process.execPath, ...argv.slice(1)] : argv);
  const run = (argv: string[], env: Record<string, string>) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const [bin, ...args] = node(argv);
      const p = spawn(bin!, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      p.once('close', (code) => resolve({ code, stderr }));
    });

  beforeAll(async () => {
    ensureBuilt(); // the build stage's `npm run build`
    dir = mkdtempSync(join(tmpdir(), 'wxopen-deploy-'));
    ports = await freePorts(3);
  }, 120_000);

  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('the image alone exits 78 with one line: production without credentials', async () => {
    const r = await run([...entrypoint, 'config'], imageEnv);
    expect(r.code).toBe(78);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('WXOPEN_MODE');
  });

  it('serve starts with an instance environment, the HEALTHCHECK passes, and SIGTERM stops it cleanly', async () => {
    const [port, adminPort, closed] = ports as [number, number, number];
    const wechat = `http://127.0.0.1:${closed}`; // nothing listens: the start must not wait for WeChat
    // What differs from the container: loopback ports, a local SQLite file instead of the postgres
    // service, no Redis service, and WeChat's hosts on loopback (tests never leave this machine).
    const env = {
      ...containerEnv(wxopenServices[0]![1]),
      HOST: '127.0.0.1',
      PORT: String(port),
      WXOPEN_ADMIN_HOST: '127.0.0.1',
      WXOPEN_ADMIN_PORT: String(adminPort),
      WXOPEN_DATABASE_URL: `sqlite:${join(dir, 'wxopen.db')}`,
      WXOPEN_REDIS_URL: '',
      WXOPEN_API_BASE: wechat,
      WXOPEN_API_BACKUP_BASES: wechat,
      LOG_LEVEL: 'warn',
    };
    const [bin, ...args] = node([...entrypoint, ...cmd]);
    const proc = spawn(bin!, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const check = () => (out.includes('listening on') ? resolve() : undefined);
      proc.stdout!.on('data', check);
      void exited.then((code) => reject(new Error(`serve exited ${code}:\n${out}`)));
    });
    expect(out).toContain('admin token           from WXOPEN_ADMIN_TOKEN');

    const hc = healthcheckOf(runtime)!.argv;
    expect(await run(hc, { PORT: String(port) }), out).toMatchObject({ code: 0 });
    // The same command against a port nobody serves fails: the check can tell.
    expect((await run(hc, { PORT: String(closed) })).code).toBe(1);

    // The operator listener answers /metrics with the configured token.
    const metrics = await fetch(`http://127.0.0.1:${adminPort}/metrics`, { headers: { authorization: `Bearer ${dotEnv.WXOPEN_ADMIN_TOKEN}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('wxopen_pushes_total');

    proc.kill('SIGTERM'); // docker stop
    expect(await exited, out).toBe(0);
    child = undefined;
  }, 60_000);
});
