import { createServer } from 'node:net';
import { redactUrl } from '../config.js';
import { WxOpenError } from '../errors.js';

/** An expected failure of a command, printed as `wxopen: <message>` (one line) with exit code 1. */
export class CliError extends WxOpenError {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

interface SysError {
  code?: string;
  errno?: number;
  address?: string;
  port?: number;
  message?: string;
  cause?: unknown;
  errors?: unknown[];
}

const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** The innermost system error of `err` (through `cause` and AggregateError), if any. */
export function systemCause(err: unknown): SysError | undefined {
  for (let e = err as SysError | undefined, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if (typeof e.code === 'string' && (NETWORK.has(e.code) || e.code.startsWith('E') || e.code.startsWith('SQLITE_'))) return e;
    e = (Array.isArray(e.errors) && e.errors.length > 0 ? e.errors[0] : e.cause) as SysError | undefined;
  }
  return undefined;
}

/** One line for a low-level failure: `ECONNREFUSED 127.0.0.1:5999`, `SQLITE_NOTADB file is not a database`. */
export function describeCause(err: unknown): string {
  const sys = systemCause(err);
  if (sys?.code === 'ERR_DLOPEN_FAILED' && sys.message) return nativeAddonProblem(sys.message);
  if (sys?.code && NETWORK.has(sys.code)) return `${sys.code}${sys.address ? ` ${sys.address}${sys.port ? `:${sys.port}` : ''}` : ''}`;
  if (sys?.code) return `${sys.code}${sys.message && !sys.message.includes(sys.code) ? ` ${firstLine(sys.message)}` : sys.message ? ` ${firstLine(sys.message).replace(`${sys.code}: `, '')}` : ''}`;
  return firstLine(err instanceof Error ? err.message : String(err));
}

/**
 * A native addon built for another Node.js: Node's first line only names the file; the versions and the cure
 * are on the lines after it, and a user who moved to a newer Node.js (as the README asks) needs exactly those.
 */
function nativeAddonProblem(message: string): string {
  const file = /'([^']+\.node)'/.exec(message)?.[1];
  const [built, needed] = [...message.matchAll(/NODE_MODULE_VERSION (\d+)/g)].map((m) => m[1]);
  if (file === undefined || built === undefined || needed === undefined) return `ERR_DLOPEN_FAILED ${firstLine(message)}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
  const cure = pkg === undefined ? 'npm rebuild' : `npm rebuild ${pkg}`;
  return `ERR_DLOPEN_FAILED ${pkg ?? file} was built for another Node.js (NODE_MODULE_VERSION ${built}; this Node.js ${process.version} needs ${needed}): run \`${cure}\` with this Node.js`;
}

export function firstLine(text: string): string {
  return redactUrl(text.split('\n')[0]!.trim());
}

/** Wraps the opening of a database so its failure is one line naming the (redacted) database. */
export async function describing<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof WxOpenError) throw err;
    throw new CliError('WXO_ERR_UNAVAILABLE', `${what}: ${describeCause(err)}`, { cause: err });
  }
}

/** A port already taken is one line naming it, not a stack. */
export function listenFailure(err: unknown, host: string, port: number, setting: string): unknown {
  const code = systemCause(err)?.code;
  if (code === 'EADDRINUSE') return new CliError('WXO_ERR_PORT_IN_USE', `port ${port} on ${host} is already in use (by another program or wxopen server); choose another with ${setting}`, { cause: err });
  if (code === 'EACCES') return new CliError('WXO_ERR_PORT_DENIED', `not allowed to listen on ${host}:${port}; choose another with ${setting}`, { cause: err });
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EADDRNOTAVAIL') {
    const why = code === 'EADDRNOTAVAIL' ? 'is not an address of this machine' : 'is not an address and does not resolve';
    return new CliError('WXO_ERR_BAD_HOST', `cannot listen on ${host}:${port}: ${host} ${why}; set ${HOST_SETTING[setting] ?? 'the host'} to one of this machine's addresses (127.0.0.1, 0.0.0.0 for all)`, { cause: err });
  }
  return err;
}

/** The host setting beside each port setting, for a host that cannot be listened on. */
const HOST_SETTING: Record<string, string> = { 'PORT or --port': 'HOST or --host', WXOPEN_ADMIN_PORT: 'WXOPEN_ADMIN_HOST', '--port': '--host' };

/**
 * Fails the way a listen would when `port` is taken, before anything else has been created: a start that
 * cannot listen leaves no database or lock behind. Port 0 (any free port) cannot be taken. Another program
 * may still take the port in the moment between this check and the real listen, which then fails the same way.
 */
export async function assertPortFree(host: string, port: number, setting: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err) => reject(listenFailure(err, host, port, setting)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
