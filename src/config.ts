import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { ConfigError } from './errors.js';

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
const int = (min: number, max: number) =>
  z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().min(min).max(max));

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

const schema = z.object({
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  WXOPEN_COMPONENT_APPID: z.string().regex(/^wx[0-9a-zA-Z]{16}$/, 'must look like wx followed by 16 letters or digits'),
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
});

export type ConfigMode = 'sandbox' | 'real';

export interface Config {
  mode: ConfigMode;
  port: number;
  host: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
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
}

export type Env = Record<string, string | undefined>;

/**
 * Reads configuration from the environment, over an optional JSON file named by `WXOPEN_CONFIG_FILE`
 * (same keys). With none of the credential variables set, it is sandbox mode: demo credentials and
 * the embedded WeChat simulator. Any problem throws a `ConfigError` whose message is one line naming
 * the variable.
 */
export function loadConfig(env: Env = process.env): Config {
  const merged: Env = { ...readConfigFile(env.WXOPEN_CONFIG_FILE), ...env };
  for (const key of Object.keys(merged)) if (merged[key] === '') delete merged[key];
  const given = CREDENTIALS.filter((k) => merged[k] !== undefined);
  const mode: ConfigMode = given.length === 0 ? 'sandbox' : 'real';
  if (mode === 'real') {
    const missing = CREDENTIALS.find((k) => merged[k] === undefined);
    if (missing) throw new ConfigError(missing, `is required when ${given[0]} is set (set all of ${CREDENTIALS.join(', ')}, or none for sandbox mode)`);
  } else {
    // The embedded sandbox listens beside the platform; every WeChat host points at it.
    const port = Number(merged.PORT ?? '3000');
    const sandbox = `http://localhost:${merged.WXOPEN_SANDBOX_PORT ?? (port === 0 ? 0 : port + 1)}`;
    Object.assign(merged, SANDBOX_DEFAULTS, {
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
    const issue = result.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'config');
    const message = issue.code === 'invalid_type' && merged[variable] === undefined ? 'is required' : issue.message;
    throw new ConfigError(variable, message);
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
    databaseUrl: c.WXOPEN_DATABASE_URL,
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
  };
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
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v === null ? undefined : String(v)]));
}

/** Config safe to print or log: secrets are replaced by their length. */
export function redactConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    componentSecret: `<${config.componentSecret.length} chars>`,
    token: `<${config.token.length} chars>`,
    encodingAesKeys: config.encodingAesKeys.map(() => '<43 chars>'),
    secretKeys: config.secretKeys.map(() => '<32 bytes>'),
    databaseUrl: config.databaseUrl.replace(/\/\/[^@/]*@/, '//***@'),
    redisUrl: config.redisUrl?.replace(/\/\/[^@/]*@/, '//***@'),
  };
}
