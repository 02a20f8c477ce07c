import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseRateLimits } from './api/rate-limit.js';
import { ConfigError } from './errors.js';
import { projectEnv, type Env } from './project.js';
import { LOG_FORMATS } from './util/log-format.js';
import { APPID } from './util/appid.js';

/** Values `npm start` uses when no real credentials are configured: the embedded sandbox platform. */
export const SANDBOX_DEFAULTS = {
  WXOPEN_COMPONENT_APPID: 'wx0c0ffee0c0ffee00',
  WXOPEN_COMPONENT_SECRET: 'sandbox-component-secret-not-for-production',
  WXOPEN_TOKEN: 'wxopensandboxtoken',
  WXOPEN_ENCODING_AES_KEY: 'c2FuZGJveGVuY29kaW5nYWVza2V5Zm9yd3hvcGVuMDA',
  WXOPEN_SECRET_KEY: '5a'.repeat(32),
} as const;

const CREDENTIALS = [
  'WXOPEN_COMPONENT_APPID',
  'WXOPEN_COMPONENT_SECRET',
  'WXOPEN_TOKEN',
  'WXOPEN_ENCODING_AES_KEY',
  'WXOPEN_PUBLIC_URL',
  'WXOPEN_SECRET_KEY',
] as const;

const httpUrl = z
  .string()
  .refine((v) => /^https?:\/\/[^\s/]+/.test(v) && URL.canParse(v), 'must be an http(s) URL')
  .transform((v) => v.replace(/\/+$/, ''));
/** A comma-separated list whose items each pass `item`. */
const csv = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(item));
const aesKey = z.string().regex(/^[A-Za-z0-9]{43}$/, 'must be 43 characters of [A-Za-z0-9] (the EncodingAESKey from the platform page)');
const secretKey = z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters (32 bytes), e.g. from `openssl rand -hex 32`');
const int = (min: number, max: number) => {
  const range = `must be a whole number from ${min} to ${max}`;
  return z.string().regex(/^\d+$/, range).transform(Number).pipe(z.number().min(min, range).max(max, range));
};
/** A port as PORT, --port and the sandbox's URLs read it: a port number, or nothing (the caller names the setting). */
export const portOf = (v: string | undefined): number | undefined => (v !== undefined && /^\d{1,5}$/.test(v) && Number(v) <= 65535 ? Number(v) : undefined);

/** Fastify's `trustProxy`: true/false, a hop count, or a comma list of proxy IPs/CIDRs. */
const trustProxy = z.string().transform((v, ctx): boolean | number | string[] => {
  const t = v.trim().toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (/^\d{1,3}$/.test(t)) return Number(t);
  const items = t.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.find((item) => !isIpOrCidr(item));
  if (items.length === 0 || bad !== undefined) {
    ctx.addIssue({ code: 'custom', message: `must be true, false, a hop count or a comma list of proxy IPs/CIDRs${bad ? ` (not an IP or CIDR: ${bad})` : ''}` });
    return z.NEVER;
  }
  return items;
});

function isIpOrCidr(item: string): boolean {
  const [ip, prefix, extra] = item.split('/');
  const family = isIP(ip ?? '');
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** pino's levels, as LOG_LEVEL and `wxopen sandbox --log-level` accept them. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
// zod's own wording (`Invalid option: expected one of "fatal"|…`) is not the house's `must be …` line.
export const LOG_LEVEL_PROBLEM = `must be one of ${LOG_LEVELS.join(', ')}`;

const schema = z.object({
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(LOG_LEVELS, { message: LOG_LEVEL_PROBLEM }).default('info'),
  WXOPEN_COMPONENT_APPID: z.string().regex(APPID, 'must look like wx followed by 16 letters or digits'),
  WXOPEN_COMPONENT_SECRET: z.string().min(16, 'must be the component AppSecret (at least 16 characters)'),
  WXOPEN_TOKEN: z.string().regex(/^[A-Za-z0-9]{3,32}$/, 'must be 3–32 letters or digits (the platform Token)'),
  WXOPEN_ENCODING_AES_KEY: aesKey,
  WXOPEN_PREVIOUS_ENCODING_AES_KEYS: csv(aesKey).default([]),
  WXOPEN_PUBLIC_URL: httpUrl,
  WXOPEN_DATABASE_URL: z
    .string()
    .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'must be sqlite:<path> or postgres://…')
    .default('sqlite:./data/wxopen.db'),
  WXOPEN_REDIS_URL: z.string().regex(/^rediss?:\/\/.+/, 'must be redis://… or rediss://…').optional(),
  WXOPEN_API_BASE: httpUrl.default('https://api.weixin.qq.com'),
  WXOPEN_API_BACKUP_BASES: csv(httpUrl).default(['https://api2.weixin.qq.com']),
  WXOPEN_MP_BASE: httpUrl.default('https://mp.weixin.qq.com'),
  WXOPEN_OPEN_BASE: httpUrl.default('https://open.weixin.qq.com'),
  WXOPEN_SECRET_KEY: secretKey,
  WXOPEN_PREVIOUS_SECRET_KEYS: csv(secretKey).default([]),
  WXOPEN_SANDBOX_PORT: int(0, 65535).optional(),
  WXOPEN_PUSH_MAX_SKEW_SECONDS: int(1, 86400).default(300),
  WXOPEN_BODY_LIMIT_BYTES: int(1024, 10 * 1024 * 1024).default(64 * 1024),
  WXOPEN_TRUST_PROXY: trustProxy.default(false),
  WXOPEN_REQUEST_TIMEOUT_MS: int(100, 600_000).default(10_000),
  WXOPEN_HEADERS_TIMEOUT_MS: int(100, 600_000).optional(),
  WXOPEN_PUSH_TIMEOUT_MS: int(100, 600_000).default(5_000),
  WXOPEN_KEEP_ALIVE_TIMEOUT_MS: int(100, 600_000).default(72_000),
  WXOPEN_SHUTDOWN_GRACE_MS: int(0, 600_000).default(3_000),
  WXOPEN_AUTHORIZE_LINKS_PER_MINUTE: int(1, 100_000).default(10),
  WXOPEN_AUTHORIZE_LINKS_PER_MINUTE_TOTAL: int(1, 1_000_000).default(120),
  WXOPEN_RELEASE_TEST_RESPONDER: z
    .enum(['on', 'off', 'true', 'false', '1', '0'], { message: 'must be on or off' })
    .default('on')
    .transform((v) => v === 'on' || v === 'true' || v === '1'),
  WXOPEN_MESSAGE_RETENTION_DAYS: int(0, 3650).default(7),
  WXOPEN_MESSAGE_REPLY_BUDGET_MS: int(100, 4900).default(4500),
  WXOPEN_API_RATE_LIMITS: z
    .string()
    .default('*=50/s')
    .superRefine((v, ctx) => {
      try {
        parseRateLimits(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  WXOPEN_API_RATE_LIMIT_MAX_WAIT_MS: int(0, 600_000).default(10_000),
  WXOPEN_LOGIN_SESSION_TTL_SECONDS: int(60, 365 * 86400).default(7 * 86400),
  // The operator surface (issue 13): its own listener, loopback by default.
  WXOPEN_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters (e.g. `openssl rand -hex 24`)').optional(),
  WXOPEN_ADMIN_PORT: int(0, 65535).optional(),
  WXOPEN_ADMIN_HOST: z.string().min(1).default('127.0.0.1'),
  WXOPEN_REQUIRED_PERMISSION_SETS: csv(z.string().regex(/^\d{1,4}$/, 'must be permission-set ids, e.g. 17,18').transform(Number)).default([]),
  WXOPEN_PLATFORM_NAME: z.string().min(1).max(64).optional(),
  WXOPEN_RECONCILE_INTERVAL_HOURS: int(0, 24 * 30).default(24),
  // Read by util/logger.ts from the process environment (it logs before any config exists); validated here.
  WXOPEN_LOG_FORMAT: z.enum(LOG_FORMATS, { message: `must be ${LOG_FORMATS.join(', ')}` }).optional(),
});

export type ConfigMode = 'sandbox' | 'real';

export interface Config {
  mode: ConfigMode;
  port: number;
  host: string;
  logLevel: LogLevel;
  componentAppid: string;
  componentSecret: string;
  token: string;
  /** Current key first, then previous keys still accepted for decryption. */
  encodingAesKeys: string[];
  publicUrl: string;
  databaseUrl: string;
  redisUrl: string | undefined;
  apiBase: string;
  apiBackupBases: string[];
  mpBase: string;
  openBase: string;
  /** Current secret key first (hex), then previous ones for decrypting older records. */
  secretKeys: string[];
  pushMaxSkewSeconds: number;
  bodyLimitBytes: number;
  /** Sandbox mode: the port of the embedded WeChat simulator (default PORT + 1). */
  sandboxPort: number | undefined;
  /** Which proxies may set X-Forwarded-For (Fastify's `trustProxy`); none by default. */
  trustProxy: boolean | number | string[];
  /** Whole-request bound (headers and body) on the listener; headers alone within `headersTimeoutMs`. */
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  /** Push URLs: the body must arrive within this (WeChat itself gives up after 5 s). */
  pushTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** `close()` waits this long for in-flight requests, then cuts every connection. */
  shutdownGraceMs: number;
  /** `/authorize/go` links per client and in total, per minute (each spends an api_create_preauthcode). */
  authorizeLinksPerMinute: number;
  authorizeLinksPerMinuteTotal: number;
  /** The directory relative paths were resolved against (the project's, see `projectEnv`). */
  projectDir: string;
  /** Answer WeChat's full-network-release test accounts (spec 7); default on. */
  releaseTestResponder: boolean;
  /** Days the message log keeps a message; 0 keeps them forever. */
  messageRetentionDays: number;
  /** Time budget of the message handlers (WeChat waits 5 s). */
  messageReplyBudgetMs: number;
  /** Per-API rate limits, `api=N/unit,…` (src/api/rate-limit.ts). */
  apiRateLimits: string;
  /** How long a call waits for a rate-limit token before failing with WXO_ERR_RATE_LIMITED. */
  apiRateLimitMaxWaitMs: number;
  /** Lifetime of a mini-program login session (the sealed session_key). */
  loginSessionTtlSeconds: number;
  /** The operator's token; when unset, real mode generates one at first start and stores its hash. */
  adminToken: string | undefined;
  /** The operator listener (dashboard, /api/v1, /docs, /metrics); default PORT + 2 on 127.0.0.1. */
  adminPort: number;
  adminHost: string;
  /** Permission sets the operator's product needs; the callback tells a merchant which are missing. */
  requiredPermissionSets: number[];
  /** Shown to merchants on the authorization pages (default: the component appid). */
  platformName: string | undefined;
  /** How often the store is reconciled with api_get_authorizer_list; 0 disables the job. */
  reconcileIntervalHours: number;
}

export type { Env } from './project.js';

export interface LoadConfigOptions {
  /** Where a relative `sqlite:` path resolves; default the project directory (see `projectEnv`) or cwd. */
  baseDir?: string;
}

/** Variables read besides the schema's. */
const EXTRA_KEYS = ['WXOPEN_MODE', 'NODE_ENV'] as const;
/** Keys a `WXOPEN_CONFIG_FILE` may hold. */
export const CONFIG_KEYS: ReadonlySet<string> = new Set([...Object.keys(schema.shape), ...EXTRA_KEYS]);

/**
 * An issue in the words of the other settings' problems (`must be at most 64 characters`), where zod's default
 * text (`Too big: expected string to have <=64 characters`) would otherwise reach the one-line error; messages
 * written for a setting are kept as they are.
 */
function problemOf(issue: z.core.$ZodIssue): string {
  if (!/^(Too big|Too small|Invalid)\b/.test(issue.message)) return issue.message;
  const unit = (origin: string, n: number | bigint) => (origin === 'string' ? ` ${n} character${Number(n) === 1 ? '' : 's'}` : ` ${n}`);
  switch (issue.code) {
    case 'too_big':
      return `must be at most${unit(issue.origin, issue.maximum)}`;
    case 'too_small':
      return issue.origin === 'string' && Number(issue.minimum) === 1 ? 'must not be empty' : `must be at least${unit(issue.origin, issue.minimum)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_format':
      return `is not a valid ${issue.format}`;
    case 'invalid_type':
      return `must be a ${issue.expected}`;
    default:
      return 'is invalid';
  }
}

/**
 * Reads configuration from the environment, over an optional JSON file named by `WXOPEN_CONFIG_FILE`
 * (same keys). With none of the credential variables set (or `WXOPEN_MODE=sandbox`), it is sandbox
 * mode: demo credentials, the embedded WeChat simulator, loopback only. Every problem found is
 * reported at once in one `ConfigError` (one line per variable).
 *
 * Called without `env`, it reads the process environment over the project's `.env` and resolves a
 * relative SQLite path against the project directory, so every command run inside a project opens
 * the same database; with an explicit `env`, only that (relative paths against `baseDir` or cwd).
 */
export function loadConfig(env?: Env, options: LoadConfigOptions = {}): Config {
  let baseDir = options.baseDir;
  if (env === undefined) {
    const project = projectEnv();
    env = project.env;
    baseDir ??= project.dir;
  }
  baseDir = resolve(baseDir ?? process.cwd());
  const merged: Env = { ...readConfigFile(env.WXOPEN_CONFIG_FILE), ...env };
  for (const key of Object.keys(merged)) if (merged[key] === '') delete merged[key];
  const issues: { variable: string; problem: string }[] = [];
  const given = CREDENTIALS.filter((k) => merged[k] !== undefined);
  // Variables an issue above already names, so the schema does not report them again.
  const named = new Set<string>();
  const explicit = merged.WXOPEN_MODE;
  if (explicit !== undefined && explicit !== 'sandbox' && explicit !== 'real') issues.push({ variable: 'WXOPEN_MODE', problem: 'must be sandbox or real' });
  const mode: ConfigMode = explicit === 'sandbox' ? 'sandbox' : explicit === 'real' || given.length > 0 ? 'real' : 'sandbox';
  if (mode === 'real') {
    const missing = CREDENTIALS.filter((k) => merged[k] === undefined);
    if (explicit === 'real') {
      for (const m of missing) issues.push({ variable: m, problem: `is required when WXOPEN_MODE=real (set all of ${CREDENTIALS.join(', ')}, or none for sandbox mode)` });
    } else if (missing.length > 0) {
      for (const m of missing) named.add(m);
      // One line: five copies of the same sentence hid that it was WXOPEN_PUBLIC_URL alone that left the sandbox.
      const also = missing.length > 1 ? `, and so ${missing.length > 2 ? 'are' : 'is'} ${missing.slice(1).join(', ')}` : '';
      issues.push({
        variable: missing[0]!,
        problem: `is required${also}: setting ${given.join(', ')} selects real mode (any of ${CREDENTIALS.join(', ')} does), which needs them all; to keep the sandbox with your overrides set WXOPEN_MODE=sandbox`,
      });
    }
    issues.push(...demoSecretIssues(merged));
  } else {
    if (explicit !== 'sandbox' && merged.NODE_ENV === 'production') {
      issues.push({
        variable: 'WXOPEN_MODE',
        // Rendered after the variable's name ("WXOPEN_MODE is not set…"), so it reads as one sentence about it.
        problem: `is not set and neither are the credentials, under NODE_ENV=production: wxopen will not start the sandbox with its public demo credentials there. Set ${CREDENTIALS.join(', ')} for real mode, or WXOPEN_MODE=sandbox to run the sandbox on purpose`,
      });
    }
    // The embedded sandbox listens beside the platform; every WeChat host points at it.
    // From a valid port only: PORT=99999 is one error about PORT, not four more about the URLs built from it.
    const port = portOf(merged.PORT) ?? 3000;
    const sandboxPort = portOf(merged.WXOPEN_SANDBOX_PORT) ?? (port === 0 ? 0 : port + 1);
    const sandbox = `http://localhost:${sandboxPort}`;
    Object.assign(merged, SANDBOX_DEFAULTS, {
      // Demo credentials are public: reachable from this machine only unless HOST says otherwise.
      HOST: '127.0.0.1',
      WXOPEN_PUBLIC_URL: `http://localhost:${port}`,
      WXOPEN_API_BASE: sandbox,
      WXOPEN_MP_BASE: sandbox,
      WXOPEN_OPEN_BASE: sandbox,
      WXOPEN_API_BACKUP_BASES: '',
      ...merged,
    });
  }
  const result = schema.safeParse(merged);
  if (!result.success) {
    const seen = new Set([...named, ...issues.map((i) => i.variable)]);
    for (const issue of result.error.issues) {
      const variable = String(issue.path[0] ?? 'config');
      if (seen.has(variable)) continue;
      seen.add(variable);
      issues.push({ variable, problem: issue.code === 'invalid_type' && merged[variable] === undefined ? 'is required' : problemOf(issue) });
    }
  }
  if (issues.length > 0 || !result.success) {
    const [first, ...more] = issues.length > 0 ? issues : [{ variable: 'config', problem: 'is invalid' }];
    throw new ConfigError(first!.variable, first!.problem, more);
  }
  const c = result.data;
  return {
    mode,
    port: c.PORT,
    host: c.HOST,
    logLevel: c.LOG_LEVEL,
    componentAppid: c.WXOPEN_COMPONENT_APPID,
    componentSecret: c.WXOPEN_COMPONENT_SECRET,
    token: c.WXOPEN_TOKEN,
    encodingAesKeys: [c.WXOPEN_ENCODING_AES_KEY, ...c.WXOPEN_PREVIOUS_ENCODING_AES_KEYS],
    publicUrl: c.WXOPEN_PUBLIC_URL,
    databaseUrl: resolveDatabaseUrl(c.WXOPEN_DATABASE_URL, baseDir),
    redisUrl: c.WXOPEN_REDIS_URL,
    apiBase: c.WXOPEN_API_BASE,
    apiBackupBases: c.WXOPEN_API_BACKUP_BASES,
    mpBase: c.WXOPEN_MP_BASE,
    openBase: c.WXOPEN_OPEN_BASE,
    secretKeys: [c.WXOPEN_SECRET_KEY, ...c.WXOPEN_PREVIOUS_SECRET_KEYS],
    pushMaxSkewSeconds: c.WXOPEN_PUSH_MAX_SKEW_SECONDS,
    bodyLimitBytes: c.WXOPEN_BODY_LIMIT_BYTES,
    sandboxPort: mode === 'sandbox' ? (c.WXOPEN_SANDBOX_PORT ?? (c.PORT === 0 ? 0 : c.PORT + 1)) : undefined,
    trustProxy: c.WXOPEN_TRUST_PROXY,
    requestTimeoutMs: c.WXOPEN_REQUEST_TIMEOUT_MS,
    headersTimeoutMs: Math.min(c.WXOPEN_HEADERS_TIMEOUT_MS ?? c.WXOPEN_REQUEST_TIMEOUT_MS, c.WXOPEN_REQUEST_TIMEOUT_MS),
    pushTimeoutMs: Math.min(c.WXOPEN_PUSH_TIMEOUT_MS, c.WXOPEN_REQUEST_TIMEOUT_MS),
    keepAliveTimeoutMs: c.WXOPEN_KEEP_ALIVE_TIMEOUT_MS,
    shutdownGraceMs: c.WXOPEN_SHUTDOWN_GRACE_MS,
    authorizeLinksPerMinute: c.WXOPEN_AUTHORIZE_LINKS_PER_MINUTE,
    authorizeLinksPerMinuteTotal: c.WXOPEN_AUTHORIZE_LINKS_PER_MINUTE_TOTAL,
    projectDir: baseDir,
    releaseTestResponder: c.WXOPEN_RELEASE_TEST_RESPONDER,
    messageRetentionDays: c.WXOPEN_MESSAGE_RETENTION_DAYS,
    messageReplyBudgetMs: c.WXOPEN_MESSAGE_REPLY_BUDGET_MS,
    apiRateLimits: c.WXOPEN_API_RATE_LIMITS,
    apiRateLimitMaxWaitMs: c.WXOPEN_API_RATE_LIMIT_MAX_WAIT_MS,
    loginSessionTtlSeconds: c.WXOPEN_LOGIN_SESSION_TTL_SECONDS,
    adminToken: c.WXOPEN_ADMIN_TOKEN,
    adminPort: c.WXOPEN_ADMIN_PORT ?? (c.PORT === 0 ? 0 : c.PORT + 2),
    adminHost: c.WXOPEN_ADMIN_HOST,
    requiredPermissionSets: c.WXOPEN_REQUIRED_PERMISSION_SETS,
    platformName: c.WXOPEN_PLATFORM_NAME,
    reconcileIntervalHours: c.WXOPEN_RECONCILE_INTERVAL_HOURS,
  };
}

/**
 * The demo values are printed by `wxopen sandbox` and published in the source: in real mode they would seal
 * tokens under a public key (WXOPEN_SECRET_KEY) or let anyone sign and encrypt pushes (Token, EncodingAESKey).
 * A demo key among WXOPEN_PREVIOUS_SECRET_KEYS stays allowed: it only opens rows sealed before the switch,
 * which are re-sealed under the new key as they are read, and refusing it would strand them.
 * Previous EncodingAESKeys get no such allowance: pushes are not stored, so the demo one only lets forged pushes in.
 */
function demoSecretIssues(merged: Env): { variable: string; problem: string }[] {
  const issues: { variable: string; problem: string }[] = [];
  if (merged.WXOPEN_SECRET_KEY?.toLowerCase() === SANDBOX_DEFAULTS.WXOPEN_SECRET_KEY) {
    issues.push({
      variable: 'WXOPEN_SECRET_KEY',
      problem: 'is the public demo key of the sandbox, not allowed in real mode: generate your own with `openssl rand -hex 32` (moving off it, list the demo key in WXOPEN_PREVIOUS_SECRET_KEYS so stored secrets still open)',
    });
  }
  if (merged.WXOPEN_TOKEN === SANDBOX_DEFAULTS.WXOPEN_TOKEN) {
    issues.push({
      variable: 'WXOPEN_TOKEN',
      problem: 'is the public demo Token of the sandbox, not allowed in real mode: set the Token of your platform (open.weixin.qq.com → 第三方平台 → 开发资料), e.g. one from `openssl rand -hex 16`',
    });
  }
  const aesKeys = [merged.WXOPEN_ENCODING_AES_KEY, ...(merged.WXOPEN_PREVIOUS_ENCODING_AES_KEYS ?? '').split(',').map((k) => k.trim())];
  for (const [i, variable] of ['WXOPEN_ENCODING_AES_KEY', 'WXOPEN_PREVIOUS_ENCODING_AES_KEYS'].entries()) {
    const found = i === 0 ? aesKeys[0] === SANDBOX_DEFAULTS.WXOPEN_ENCODING_AES_KEY : aesKeys.slice(1).includes(SANDBOX_DEFAULTS.WXOPEN_ENCODING_AES_KEY);
    if (found) {
      issues.push({
        variable,
        problem: `${i === 0 ? 'is' : 'holds'} the public demo EncodingAESKey of the sandbox, not allowed in real mode: set the EncodingAESKey of your platform (open.weixin.qq.com → 第三方平台 → 开发资料, 43 letters or digits)`,
      });
    }
  }
  return issues;
}

/** `sqlite:<relative path>` → `sqlite:<absolute path>` against `baseDir`, so every process opens the same file. */
export function resolveDatabaseUrl(url: string, baseDir: string): string {
  if (!url.startsWith('sqlite:')) return url;
  const [path = '', ...query] = url.slice('sqlite:'.length).split('?');
  if (path === ':memory:' || isAbsolute(path)) return url;
  return `sqlite:${resolve(baseDir, path)}${query.length ? `?${query.join('?')}` : ''}`;
}

/** The file of a `sqlite:` URL, or undefined for PostgreSQL and `:memory:`. */
export function sqlitePath(url: string): string | undefined {
  if (!url.startsWith('sqlite:')) return undefined;
  const path = url.slice('sqlite:'.length).split('?')[0] ?? '';
  return path === ':memory:' || path === '' ? undefined : resolve(path);
}

function readConfigFile(path: string | undefined): Env {
  if (path === undefined || path === '') return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('WXOPEN_CONFIG_FILE', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ConfigError('WXOPEN_CONFIG_FILE', `${path} is not valid JSON`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError('WXOPEN_CONFIG_FILE', `${path} must hold a JSON object of VARIABLE: value`);
  }
  const unknown = Object.keys(data).filter((k) => !CONFIG_KEYS.has(k));
  if (unknown.length > 0) {
    throw new ConfigError('WXOPEN_CONFIG_FILE', `${path} has unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (the keys are the variable names, e.g. WXOPEN_DATABASE_URL)`);
  }
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v === null ? undefined : String(v)]));
}

/** A URL with its user info and any password parameter hidden: `postgres://***@db/x`. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/?#]*@/, '//***@').replace(/([?&](?:password|pass|pwd)=)[^&#]*/gi, '$1***');
}

/** Config safe to print or log: secrets are replaced by their length, credentials inside URLs hidden. */
export function redactConfig(config: Config): Record<string, unknown> {
  const urls = (v: unknown): unknown => (typeof v === 'string' ? redactUrl(v) : Array.isArray(v) ? v.map(urls) : v);
  const plain = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, urls(v)]));
  return {
    ...plain,
    componentSecret: `<${config.componentSecret.length} chars>`,
    token: `<${config.token.length} chars>`,
    encodingAesKeys: config.encodingAesKeys.map(() => '<43 chars>'),
    secretKeys: config.secretKeys.map(() => '<32 bytes>'),
    adminToken: config.adminToken === undefined ? undefined : `<${config.adminToken.length} chars>`,
  };
}
