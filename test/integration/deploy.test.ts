import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import pg from 'pg';
import { parse } from 'yaml';
import { CONFIG_KEYS, SANDBOX_DEFAULTS, loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { instancePaths } from '../../src/server/instance.js';
import { ROOT, ensureBuilt } from '../helpers/cli.js';
import { dockerIgnored, envOf, findAll, healthcheckOf, interpolate, parseDockerfile, parseNginx, type NginxDirective, type Stage } from '../helpers/deploy-files.js';
import { freePorts } from '../helpers/ports.js';
import { PG_URL, REDIS_URL, dropSchema, uniqueSchema } from '../helpers/services.js';

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
  // Not the demo Token, EncodingAESKey and key: real mode refuses those.
  WXOPEN_TOKEN: 'deployTestToken',
  WXOPEN_ENCODING_AES_KEY: 'ZGVwbG95dGVzdGVuY29kaW5nYWVza2V5Zm9yd3hvcGV',
  WXOPEN_SECRET_KEY: 'de'.repeat(32),
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

  it('the runtime stage has every package dist imports: src imports only production dependencies', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    const files = (readdirSync(join(ROOT, 'src'), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    const imported = new Set<string>();
    for (const file of files) {
      const text = readFileSync(join(ROOT, 'src', file), 'utf8');
      // `import type` is erased by tsc; everything else is loaded at run time.
      for (const m of text.matchAll(/^\s*(?:import\s+(?!type\b)[^'"]*?from\s*|import\s*|export\s[^'"]*?from\s*|[^\n]*?\bimport\(\s*)'([^'.][^']*)'/gm)) {
        const spec = m[1]!;
        if (spec.startsWith('node:')) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    expect(imported.size).toBeGreaterThan(5);
    for (const name of imported) expect(Object.keys(pkg.dependencies), `${name} (imported by src) is a production dependency`).toContain(name);
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

describe('docs/deploy.md alerts', () => {
  it('name only metrics and labels wxopen exports', async () => {
    const registry = createMetrics().registry;
    const known = new Map<string, string[]>();
    for (const m of await registry.getMetricsAsJSON()) {
      const labels = [...new Set(m.values.flatMap((v) => Object.keys(v.labels)))];
      const declared = (registry.getSingleMetric(m.name) as unknown as { labelNames?: string[] }).labelNames ?? [];
      const names = [...new Set([...labels, ...declared])];
      known.set(m.name, names);
      if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) known.set(`${m.name}${suffix}`, [...names, 'le']);
    }
    for (const doc of ['docs/deploy.md', 'docs/deploy.zh-CN.md']) {
      const uses = [...read(doc).matchAll(/\b(wxopen_[a-z0-9_]+)(?:\{([^}]*)\})?/g)];
      expect(uses.length, doc).toBeGreaterThan(10);
      for (const [, name, selector] of uses) {
        expect(known.has(name!), `${doc}: ${name} is a metric wxopen exports`).toBe(true);
        for (const label of [...(selector ?? '').matchAll(/([a-z_]+)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!)) {
          expect(known.get(name!), `${doc}: ${name} has the label ${label}`).toContain(label);
        }
      }
    }
  });
});

describe('the image commands, run directly', () => {
  const entrypoint = JSON.parse(instructions(runtime, 'ENTRYPOINT')[0]!) as string[];
  const cmd = JSON.parse(instructions(runtime, 'CMD')[0]!) as string[];
  const workdir = instructions(runtime, 'WORKDIR').at(-1)!;
  const healthcheck = healthcheckOf(runtime)!.argv;
  const node = (argv: string[]) => (argv[0] === 'node' ? [process.execPath, ...argv.slice(1)] : argv);
  const dirs: string[] = [];
  const children = new Set<ChildProcess>();

  /**
   * The image's file layout in a temporary directory: `<root>/app` holds wxopen's package.json (the
   * project directory, as WORKDIR /app does), `<root>/data` is the volume and `app/data` links to it;
   * dist and node_modules link to the checkout's. Paths under /data in the environment move under `<root>`.
   */
  function imageLayout(): { app: string; data: string; env: (e: Record<string, string>) => Record<string, string> } {
    const root = mkdtempSync(join(tmpdir(), 'wxopen-deploy-'));
    dirs.push(root);
    const app = join(root, 'app');
    const data = join(root, 'data');
    mkdirSync(app);
    mkdirSync(data);
    copyFileSync(join(ROOT, 'package.json'), join(app, 'package.json'));
    symlinkSync(data, join(app, 'data'));
    // What the runtime stage copies from the build stage.
    for (const built of ['dist', 'node_modules']) symlinkSync(join(ROOT, built), join(app, built));
    const env = (e: Record<string, string>) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v.replace(/^sqlite:\/data\//, `sqlite:${data}/`)]));
    return { app, data, env };
  }

  const spawnIn = (cwd: string, argv: string[], env: Record<string, string>) => {
    const [bin, ...args] = node(argv);
    return spawn(bin!, args, { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  };
  const run = (cwd: string, argv: string[], env: Record<string, string>) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawnIn(cwd, argv, env);
      let stdout = '';
      let stderr = '';
      p.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      p.once('close', (code) => resolve({ code, stdout, stderr }));
    });

  /** `serve` as the image runs it (ENTRYPOINT + CMD); resolves once it listens. */
  async function serve(cwd: string, env: Record<string, string>) {
    const proc = spawnIn(cwd, [...entrypoint, ...cmd], env);
    children.add(proc);
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => (children.delete(proc), resolve(code))));
    await new Promise<void>((resolve, reject) => {
      proc.stdout!.on('data', () => out.includes('listening on') && resolve());
      void exited.then((code) => reject(new Error(`serve exited ${code}:\n${out}`)));
    });
    return {
      output: () => out,
      /** docker stop: SIGTERM, then the exit code. */
      stop: () => (proc.kill('SIGTERM'), exited),
    };
  }

  /**
   * An instance's environment as compose gives it, except: loopback ports, and WeChat's hosts on a
   * loopback port nobody serves (tests never leave this machine; the start must not wait for WeChat).
   */
  function instanceEnv(ports: { port: number; admin: number; closed: number }, overrides: Record<string, string>) {
    const wechat = `http://127.0.0.1:${ports.closed}`;
    return {
      ...containerEnv(wxopenServices[0]![1]),
      HOST: '127.0.0.1',
      PORT: String(ports.port),
      WXOPEN_ADMIN_HOST: '127.0.0.1',
      WXOPEN_ADMIN_PORT: String(ports.admin),
      WXOPEN_API_BASE: wechat,
      WXOPEN_API_BACKUP_BASES: wechat,
      LOG_LEVEL: 'warn',
      ...overrides,
    };
  }

  beforeAll(() => ensureBuilt(), 180_000); // the build stage's `npm run build`

  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('links the project directory\'s data/ to the volume, so every file the server writes is in it', () => {
    const dataDir = /^sqlite:(\/[^?]+)\/[^/?]+/.exec(imageEnv.WXOPEN_DATABASE_URL!)![1]!;
    expect(instructions(runtime, 'RUN').join('\n')).toContain(`ln -s ${dataDir} ${workdir}/data`);
    // With PostgreSQL nothing names a file, and the server keeps its runtime file under <project>/data.
    const pgConfig = loadConfig(containerEnv(wxopenServices[0]![1]), { baseDir: workdir });
    const paths = instancePaths(pgConfig);
    for (const path of [paths.runtime, paths.sandboxState]) expect(path.startsWith(`${workdir}/data/`), path).toBe(true);
    const sqliteConfig = loadConfig({ ...containerEnv(wxopenServices[0]![1]), WXOPEN_DATABASE_URL: imageEnv.WXOPEN_DATABASE_URL! }, { baseDir: workdir });
    for (const path of Object.values(instancePaths(sqliteConfig)).filter((p) => p !== undefined)) expect(path.startsWith(`${dataDir}/`), path).toBe(true);
  });

  it('the image alone exits 78 with one line: production without credentials', async () => {
    const layout = imageLayout();
    const r = await run(layout.app, [...entrypoint, 'config'], layout.env(imageEnv));
    expect(r.code).toBe(78);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('WXOPEN_MODE');
  });

  it('serve starts on the volume\'s SQLite file, the HEALTHCHECK passes, and SIGTERM stops it cleanly', async () => {
    const [port, admin, closed] = (await freePorts(3)) as [number, number, number];
    const layout = imageLayout();
    // The image's default database instead of the postgres service; no Redis service.
    const server = await serve(layout.app, layout.env(instanceEnv({ port, admin, closed }, { WXOPEN_DATABASE_URL: imageEnv.WXOPEN_DATABASE_URL!, WXOPEN_REDIS_URL: '' })));
    expect(server.output()).toContain('admin token           from WXOPEN_ADMIN_TOKEN');
    expect(server.output()).toContain(`sqlite:${layout.data}/wxopen.db`);

    expect(await run(layout.app, healthcheck, { PORT: String(port) }), server.output()).toMatchObject({ code: 0 });
    // The same command against a port nobody serves fails: the check can tell.
    expect((await run(layout.app, healthcheck, { PORT: String(closed) })).code).toBe(1);

    const metrics = await fetch(`http://127.0.0.1:${admin}/metrics`, { headers: { authorization: `Bearer ${dotEnv.WXOPEN_ADMIN_TOKEN}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('wxopen_pushes_total');
    expect(readdirSync(layout.data)).toEqual(expect.arrayContaining(['wxopen.db', 'wxopen.db.lock', 'wxopen.db.server.json']));

    // docs/deploy.md's online backup, run inside the container while the server writes (the ticket just pushed).
    const push = await run(layout.app, [...entrypoint, 'dev', 'push-ticket', '--real', '--ticket', 'ticket-before-backup', '--url', `http://127.0.0.1:${port}`], layout.env(instanceEnv({ port, admin, closed }, { WXOPEN_DATABASE_URL: imageEnv.WXOPEN_DATABASE_URL! })));
    expect(push.code, push.stderr).toBe(0);
    const backup = /^docker exec \S+ (node -e "(.+)")$/m.exec(read('docs/deploy.md'));
    expect(backup, 'docs/deploy.md has the SQLite backup command').not.toBeNull();
    const script = backup![2]!.replaceAll('/data/', `${layout.data}/`);
    expect(await run(layout.app, ['node', '-e', script], {}), 'the backup command').toMatchObject({ code: 0 });
    const copy = new Database(join(layout.data, 'wxopen-backup.db'), { readonly: true });
    try {
      expect(copy.prepare('select ticket from component_tickets').all()).toEqual([{ ticket: 'ticket-before-backup' }]);
    } finally {
      copy.close();
    }

    expect(await server.stop(), server.output()).toBe(0);
    expect(existsSync(join(layout.data, 'wxopen.db.server.json'))).toBe(false);
  }, 60_000);

  const services = PG_URL && REDIS_URL ? { pg: PG_URL, redis: REDIS_URL } : undefined;
  it.skipIf(!services)('two instances share PostgreSQL and Redis as in compose: a ticket one stores, the other reports', async () => {
    const { pg: pgUrl, redis } = services!;
    const schema = uniqueSchema('wxo_deploy');
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    await client.query(`create schema ${schema}`);
    await client.end();
    try {
      const url = new URL(pgUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const [p1, a1, p2, a2, closed] = (await freePorts(5)) as [number, number, number, number, number];
      // Its own component appid: the Redis keys (locks, dedupe, rate limits) are namespaced by it.
      const appid = `wx${randomBytes(8).toString('hex')}`;
      const shared = { WXOPEN_DATABASE_URL: url.toString(), WXOPEN_REDIS_URL: redis, WXOPEN_COMPONENT_APPID: appid };
      const layouts = [imageLayout(), imageLayout()];
      // Started together on an empty schema, as `docker compose up` does: both migrate, one waits for the other.
      const [one, two] = await Promise.all([
        serve(layouts[0]!.app, instanceEnv({ port: p1, admin: a1, closed }, shared)),
        serve(layouts[1]!.app, instanceEnv({ port: p2, admin: a2, closed }, shared)),
      ]);
      for (const [i, port] of [p1, p2].entries()) {
        expect(await run(layouts[i]!.app, healthcheck, { PORT: String(port) }), `instance ${i + 1}`).toMatchObject({ code: 0 });
        expect(readdirSync(layouts[i]!.data)).toContainEqual(expect.stringMatching(/^postgres-[0-9a-f]{12}\.server\.json$/));
      }

      const push = await run(layouts[0]!.app, [...entrypoint, 'dev', 'push-ticket', '--real', '--json', '--url', `http://127.0.0.1:${p1}`], instanceEnv({ port: p1, admin: a1, closed }, shared));
      expect(push.code, push.stderr).toBe(0);
      const health = (await (await fetch(`http://127.0.0.1:${p2}/healthz`)).json()) as { componentAppid: string; database: { dialect: string }; ticket: { status: string } };
      expect(health).toMatchObject({ componentAppid: appid, database: { dialect: 'postgres' }, ticket: { status: 'fresh' } });

      expect(await one.stop(), one.output()).toBe(0);
      expect(await two.stop(), two.output()).toBe(0);
    } finally {
      await dropSchema(pgUrl, schema);
    }
  }, 90_000);
});
