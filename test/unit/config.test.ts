import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, redactConfig, SANDBOX_DEFAULTS } from '../../src/config.js';
import { projectEnv } from '../../src/project.js';
import { ConfigError } from '../../src/errors.js';

const REAL = {
  WXOPEN_COMPONENT_APPID: 'wx1234567890abcdef',
  WXOPEN_COMPONENT_SECRET: 's3cr3t-s3cr3t-s3cr3t-s3cr3t',
  WXOPEN_TOKEN: 'platformtoken',
  WXOPEN_ENCODING_AES_KEY: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  WXOPEN_PUBLIC_URL: 'https://wx.example.com/',
  WXOPEN_SECRET_KEY: 'ab'.repeat(32),
};

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return 'ok';
}

describe('loadConfig', () => {
  it('with no credentials is sandbox mode with the demo platform and SQLite', () => {
    const c = loadConfig({});
    expect(c.mode).toBe('sandbox');
    expect(c.componentAppid).toBe(SANDBOX_DEFAULTS.WXOPEN_COMPONENT_APPID);
    expect(c.databaseUrl).toBe(`sqlite:${join(process.cwd(), 'data/wxopen.db')}`);
    expect(c.port).toBe(3000);
    // The demo credentials are public: the sandbox is reachable from this machine only.
    expect(c.host).toBe('127.0.0.1');
    expect(c.publicUrl).toBe('http://localhost:3000');
    expect(c.encodingAesKeys[0]).toMatch(/^[A-Za-z0-9]{43}$/);
  });

  it('reads real mode with defaults for the WeChat hosts', () => {
    const c = loadConfig({ ...REAL, PORT: '8080', WXOPEN_DATABASE_URL: 'postgres://u@db/x' });
    expect(c).toMatchObject({
      mode: 'real',
      port: 8080,
      publicUrl: 'https://wx.example.com',
      apiBase: 'https://api.weixin.qq.com',
      apiBackupBases: ['https://api2.weixin.qq.com'],
      mpBase: 'https://mp.weixin.qq.com',
      openBase: 'https://open.weixin.qq.com',
      databaseUrl: 'postgres://u@db/x',
      pushMaxSkewSeconds: 300,
    });
  });

  it.each([
    [{ WXOPEN_ENCODING_AES_KEY: 'tooshort' }, /^\[wxopen\] WXOPEN_ENCODING_AES_KEY: must be 43 characters/],
    [{ WXOPEN_SECRET_KEY: 'zz' }, /^\[wxopen\] WXOPEN_SECRET_KEY: must be 64 hex characters/],
    [{ WXOPEN_COMPONENT_APPID: 'nope' }, /^\[wxopen\] WXOPEN_COMPONENT_APPID: must look like wx/],
    [{ WXOPEN_PUBLIC_URL: 'not a url' }, /^\[wxopen\] WXOPEN_PUBLIC_URL: must be an http\(s\) URL/],
    [{ PORT: 'eighty' }, /^\[wxopen\] PORT: must be a whole number/],
    [{ WXOPEN_DATABASE_URL: 'mysql://x' }, /^\[wxopen\] WXOPEN_DATABASE_URL: must be sqlite:<path> or postgres/],
    [{ WXOPEN_REDIS_URL: 'localhost:6379' }, /^\[wxopen\] WXOPEN_REDIS_URL: must be redis:\/\//],
    [{ LOG_LEVEL: 'loud' }, /^\[wxopen\] LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent$/],
    [{ WXOPEN_API_BASE: 'ftp://x' }, /^\[wxopen\] WXOPEN_API_BASE: must be an http\(s\) URL/],
  ])('names the variable in one line: %o', (override, pattern) => {
    const message = errorOf({ ...REAL, ...override });
    expect(message).toMatch(pattern);
    expect(message).not.toContain('\n');
  });

  it('reads comma-separated lists and names the variable of a bad item', () => {
    const c = loadConfig({ ...REAL, WXOPEN_API_BACKUP_BASES: 'https://a.example, https://b.example/', WXOPEN_PREVIOUS_SECRET_KEYS: 'cd'.repeat(32) });
    expect(c.apiBackupBases).toEqual(['https://a.example', 'https://b.example']);
    expect(c.secretKeys).toEqual(['ab'.repeat(32), 'cd'.repeat(32)]);
    expect(errorOf({ ...REAL, WXOPEN_PREVIOUS_ENCODING_AES_KEYS: 'nope' })).toMatch(/^\[wxopen\] WXOPEN_PREVIOUS_ENCODING_AES_KEYS: must be 43 characters/);
  });

  it('requires the whole credential set once any of it is given', () => {
    const { WXOPEN_TOKEN: _t, ...partial } = REAL;
    expect(errorOf(partial)).toMatch(/^\[wxopen\] WXOPEN_TOKEN: is required: setting WXOPEN_COMPONENT_APPID, .* selects real mode .*WXOPEN_MODE=sandbox/);
  });

  it('WXOPEN_PUBLIC_URL alone is one issue saying it selected real mode and that WXOPEN_MODE=sandbox keeps the sandbox', () => {
    try {
      loadConfig({ WXOPEN_PUBLIC_URL: 'https://abc.ngrok.io' });
      expect.unreachable();
    } catch (err) {
      const issues = (err as ConfigError).issues;
      expect(issues).toHaveLength(1);
      expect(issues[0]!.variable).toBe('WXOPEN_COMPONENT_APPID');
      expect(issues[0]!.problem).toBe(
        'is required, and so are WXOPEN_COMPONENT_SECRET, WXOPEN_TOKEN, WXOPEN_ENCODING_AES_KEY, WXOPEN_SECRET_KEY: setting WXOPEN_PUBLIC_URL selects real mode (any of WXOPEN_COMPONENT_APPID, WXOPEN_COMPONENT_SECRET, WXOPEN_TOKEN, WXOPEN_ENCODING_AES_KEY, WXOPEN_PUBLIC_URL, WXOPEN_SECRET_KEY does), which needs them all; to keep the sandbox with your overrides set WXOPEN_MODE=sandbox',
      );
    }
    expect(loadConfig({ WXOPEN_PUBLIC_URL: 'https://abc.ngrok.io', WXOPEN_MODE: 'sandbox' })).toMatchObject({ mode: 'sandbox', publicUrl: 'https://abc.ngrok.io' });
  });

  it('real mode refuses the public demo secret key, Token and EncodingAESKey; sandbox mode keeps them', () => {
    const demo = { ...REAL, WXOPEN_SECRET_KEY: SANDBOX_DEFAULTS.WXOPEN_SECRET_KEY.toUpperCase(), WXOPEN_TOKEN: SANDBOX_DEFAULTS.WXOPEN_TOKEN, WXOPEN_ENCODING_AES_KEY: SANDBOX_DEFAULTS.WXOPEN_ENCODING_AES_KEY };
    try {
      loadConfig({ ...demo, NODE_ENV: 'production' });
      expect.unreachable();
    } catch (err) {
      const issues = (err as ConfigError).issues;
      expect(issues.map((i) => i.variable)).toEqual(['WXOPEN_SECRET_KEY', 'WXOPEN_TOKEN', 'WXOPEN_ENCODING_AES_KEY']);
      expect(issues[0]!.problem).toMatch(/public demo key .*not allowed in real mode: generate your own with `openssl rand -hex 32`/);
      expect(issues[1]!.problem).toMatch(/public demo Token/);
      expect(issues[2]!.problem).toMatch(/public demo EncodingAESKey/);
    }
    // A previous EncodingAESKey is still accepted for pushes: the demo one would let forged pushes in.
    expect(errorOf({ ...REAL, WXOPEN_PREVIOUS_ENCODING_AES_KEYS: SANDBOX_DEFAULTS.WXOPEN_ENCODING_AES_KEY })).toMatch(/^\[wxopen\] WXOPEN_PREVIOUS_ENCODING_AES_KEYS: holds the public demo EncodingAESKey/);
    // Moving off the demo key: it may stay a previous key, so rows sealed under it still open (and get re-sealed).
    expect(loadConfig({ ...REAL, WXOPEN_PREVIOUS_SECRET_KEYS: SANDBOX_DEFAULTS.WXOPEN_SECRET_KEY }).secretKeys).toEqual([REAL.WXOPEN_SECRET_KEY, SANDBOX_DEFAULTS.WXOPEN_SECRET_KEY]);
    expect(loadConfig({ WXOPEN_MODE: 'sandbox', ...SANDBOX_DEFAULTS })).toMatchObject({ mode: 'sandbox', secretKeys: [SANDBOX_DEFAULTS.WXOPEN_SECRET_KEY] });
  });

  it('reads an optional JSON config file that the environment overrides', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-config-'));
    const file = join(dir, 'wxopen.json');
    writeFileSync(file, JSON.stringify({ ...REAL, PORT: 5000, LOG_LEVEL: 'debug' }));
    const c = loadConfig({ WXOPEN_CONFIG_FILE: file, PORT: '6000' });
    expect(c).toMatchObject({ mode: 'real', port: 6000, logLevel: 'debug', componentAppid: REAL.WXOPEN_COMPONENT_APPID });
    writeFileSync(file, '{oops');
    expect(errorOf({ WXOPEN_CONFIG_FILE: file })).toMatch(/WXOPEN_CONFIG_FILE: .* is not valid JSON/);
    expect(errorOf({ WXOPEN_CONFIG_FILE: join(dir, 'missing.json') })).toMatch(/WXOPEN_CONFIG_FILE: cannot read .*ENOENT/);
  });

  it('redacts secrets for printing', () => {
    const text = JSON.stringify(redactConfig(loadConfig({ ...REAL, WXOPEN_DATABASE_URL: 'postgres://user:pw@db/x' })));
    for (const secret of [REAL.WXOPEN_COMPONENT_SECRET, REAL.WXOPEN_TOKEN, REAL.WXOPEN_ENCODING_AES_KEY, REAL.WXOPEN_SECRET_KEY, 'pw@']) {
      expect(text).not.toContain(secret);
    }
  });

  it('binds 127.0.0.1 in sandbox mode unless HOST says otherwise; real mode binds 0.0.0.0', () => {
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadConfig(REAL).host).toBe('0.0.0.0');
  });

  it('a port out of range is one problem, named once: the sandbox builds no URLs from it', () => {
    for (const env of [{ PORT: '99999' }, { ...REAL, PORT: '99999' }, { PORT: '123456789012345678901' }]) {
      try {
        loadConfig(env);
        expect.unreachable(`PORT=${env.PORT} loaded`);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).issues).toEqual([{ variable: 'PORT', problem: expect.stringMatching(/^must be a whole number( from 0 to 65535)?$/) }]);
      }
    }
    expect(errorOf({ PORT: '99999' })).toBe('[wxopen] PORT: must be a whole number from 0 to 65535');
    expect(errorOf({ WXOPEN_SANDBOX_PORT: '70000' })).toBe('[wxopen] WXOPEN_SANDBOX_PORT: must be a whole number from 0 to 65535');
    expect(loadConfig({ PORT: '65535', WXOPEN_SANDBOX_PORT: '4001' })).toMatchObject({ port: 65535, publicUrl: 'http://localhost:65535', apiBase: 'http://localhost:4001' });
  });

  it('refuses sandbox mode under NODE_ENV=production unless WXOPEN_MODE=sandbox asks for it', () => {
    expect(errorOf({ NODE_ENV: 'production' })).toBe(
      '[wxopen] WXOPEN_MODE: is not set and neither are the credentials, under NODE_ENV=production: wxopen will not start the sandbox with its public demo credentials there. Set WXOPEN_COMPONENT_APPID, WXOPEN_COMPONENT_SECRET, WXOPEN_TOKEN, WXOPEN_ENCODING_AES_KEY, WXOPEN_PUBLIC_URL, WXOPEN_SECRET_KEY for real mode, or WXOPEN_MODE=sandbox to run the sandbox on purpose',
    );
    expect(loadConfig({ NODE_ENV: 'production', WXOPEN_MODE: 'sandbox' })).toMatchObject({ mode: 'sandbox', host: '127.0.0.1' });
    expect(loadConfig({ ...REAL, NODE_ENV: 'production' }).mode).toBe('real');
    expect(errorOf({ WXOPEN_MODE: 'demo' })).toMatch(/WXOPEN_MODE: must be sandbox or real/);
  });

  it('WXOPEN_MODE=real requires every credential and names each missing one', () => {
    try {
      loadConfig({ WXOPEN_MODE: 'real' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const issues = (err as ConfigError).issues;
      expect(issues.map((i) => i.variable)).toEqual(['WXOPEN_COMPONENT_APPID', 'WXOPEN_COMPONENT_SECRET', 'WXOPEN_TOKEN', 'WXOPEN_ENCODING_AES_KEY', 'WXOPEN_PUBLIC_URL', 'WXOPEN_SECRET_KEY']);
      expect(issues[0]!.problem).toMatch(/is required when WXOPEN_MODE=real/);
    }
  });

  it('reports every invalid variable at once', () => {
    try {
      loadConfig({ ...REAL, PORT: 'eighty', WXOPEN_SECRET_KEY: 'zz', LOG_LEVEL: 'loud', WXOPEN_REDIS_URL: 'localhost' });
      expect.unreachable();
    } catch (err) {
      const issues = (err as ConfigError).issues;
      expect(issues.map((i) => i.variable).sort()).toEqual(['LOG_LEVEL', 'PORT', 'WXOPEN_REDIS_URL', 'WXOPEN_SECRET_KEY']);
      expect((err as ConfigError).message).not.toContain('\n');
    }
  });

  it('refuses unknown keys in WXOPEN_CONFIG_FILE instead of ignoring them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-config-'));
    const file = join(dir, 'wxopen.json');
    writeFileSync(file, JSON.stringify({ ...REAL, WXOPEN_DATABSE_URL: 'sqlite:x.db', port: 80 }));
    expect(errorOf({ WXOPEN_CONFIG_FILE: file })).toMatch(/^\[wxopen\] WXOPEN_CONFIG_FILE: .*wxopen\.json has unknown keys WXOPEN_DATABSE_URL, port/);
    writeFileSync(file, JSON.stringify({ WXOPEN_MODE: 'sandbox', PORT: 4100 }));
    expect(loadConfig({ WXOPEN_CONFIG_FILE: file })).toMatchObject({ mode: 'sandbox', port: 4100 });
  });

  it('resolves a relative SQLite path against the project directory, not the working directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-config-'));
    expect(loadConfig({ WXOPEN_DATABASE_URL: 'sqlite:./data/x.db?synchronous=normal' }, { baseDir: dir }).databaseUrl).toBe(`sqlite:${join(dir, 'data/x.db')}?synchronous=normal`);
    expect(loadConfig({ WXOPEN_DATABASE_URL: 'sqlite:/abs/x.db' }, { baseDir: dir }).databaseUrl).toBe('sqlite:/abs/x.db');
    expect(loadConfig({ WXOPEN_DATABASE_URL: 'sqlite::memory:' }, { baseDir: dir }).databaseUrl).toBe('sqlite::memory:');
  });

  it('finds the project from a subdirectory and reads its .env under the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-project-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'shop', dependencies: { wxopen: '^0.1.0' } }));
    writeFileSync(join(dir, '.env'), 'PORT=4200\nLOG_LEVEL=debug\n# comment\nWXOPEN_DATABASE_URL="sqlite:./var/shop.db"\n');
    mkdirSync(join(dir, 'scripts/deep'), { recursive: true });
    const project = projectEnv(join(dir, 'scripts/deep'), { LOG_LEVEL: 'warn' });
    expect(project.dir).toBe(dir);
    expect(project.dotenvFile).toBe(join(dir, '.env'));
    const c = loadConfig(project.env, { baseDir: project.dir });
    expect(c).toMatchObject({ port: 4200, logLevel: 'warn', databaseUrl: `sqlite:${join(dir, 'var/shop.db')}`, sandboxPort: 4201 });
    // Without a project, the directory of WXOPEN_CONFIG_FILE, else the working directory.
    const other = mkdtempSync(join(tmpdir(), 'wxopen-noproject-'));
    expect(projectEnv(other, {}).dir).toBe(other);
    expect(projectEnv(other, { WXOPEN_CONFIG_FILE: join(dir, 'conf/w.json') }).dir).toBe(join(dir, 'conf'));
  });

  it('redacts user info and passwords inside every URL', () => {
    const text = JSON.stringify(
      redactConfig(loadConfig({ ...REAL, WXOPEN_DATABASE_URL: 'postgres://app:hunter2@db:5432/x?sslmode=require&password=p4ss', WXOPEN_REDIS_URL: 'redis://:r3dis@cache:6379', WXOPEN_API_BASE: 'https://user:apipw@api.example' })),
    );
    for (const secret of ['hunter2', 'app:', 'r3dis', 'apipw', 'p4ss']) expect(text).not.toContain(secret);
    expect(text).toContain('postgres://***@db:5432/x?sslmode=require&password=***');
    expect(text).toContain('redis://***@cache:6379');
  });
});

describe('every setting fails in its own words', () => {
  it("no invalid value of any setting shows zod's default text (Too big / Too small / Invalid … expected)", async () => {
    const { CONFIG_KEYS } = await import('../../src/config.js');
    const garbage = ['x'.repeat(300), '-1', '0', 'not a url', '%%%', '1e99', 'wx'];
    let refused = 0;
    for (const key of CONFIG_KEYS) {
      for (const value of garbage) {
        try {
          loadConfig({ ...REAL, [key]: value });
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          refused++;
          for (const { variable, problem } of err.issues) {
            expect(`${variable}: ${problem}`).not.toMatch(/Too big|Too small|Invalid (input|option|string|value)|expected /);
          }
        }
      }
    }
    // The check ran on real refusals (a typo in the values would make this pass on nothing).
    expect(refused).toBeGreaterThan(50);
  });

  it('a platform name over 64 characters says so', () => {
    expect(() => loadConfig({ ...REAL, WXOPEN_PLATFORM_NAME: 'x'.repeat(65) })).toThrow(/WXOPEN_PLATFORM_NAME: must be at most 64 characters/);
  });
});
