import { UpstreamError, WeChatApiError, WxOpenError } from '../errors.js';

/**
 * The fields a log line gives a failure. A `WxOpenError` is a condition wxopen anticipates (WeChat unreachable
 * or answering an errcode, no ticket yet) and its message says all there is: one line with the message, its
 * code and, for an unreachable WeChat, the network code and the host tried. A stack there says nothing new and,
 * logged again at every retry, buries the line that matters (`serve --no-sandbox` before the simulator is up,
 * a network down at start). Anything else is a bug until shown otherwise, so it keeps `err` and its stack.
 */
export function errorFields(err: unknown): Record<string, unknown> {
  if (!(err instanceof WxOpenError)) return environmental(err) ?? { err };
  if (err instanceof UpstreamError) {
    const cause = innermost(err.cause);
    const error = cause.message && !err.detail.includes(cause.message) ? `${err.detail} (${cause.message})` : err.detail;
    return { error, code: cause.code ?? err.code, host: err.host };
  }
  if (err instanceof WeChatApiError) return { error: err.detail, code: err.code, errcode: err.errcode };
  return { error: err.detail, code: err.code };
}

/**
 * A failure of the machine's surroundings rather than of wxopen: a system call's error (`ECONNREFUSED` from a
 * Redis or database that is down) or ioredis giving up a command while it reconnects. One line, like a
 * WxOpenError: its stack only names Node's socket code.
 */
function environmental(err: unknown): Record<string, unknown> | undefined {
  if (!(err instanceof Error)) return undefined;
  const { code, syscall } = err as { code?: unknown; syscall?: unknown };
  if (typeof code === 'string' && typeof syscall === 'string') return { error: err.message, code };
  if (err.name === 'MaxRetriesPerRequestError') return { error: err.message, code: err.name };
  return undefined;
}

/** The first system code (`ECONNREFUSED`) down a cause chain and its innermost message (undici nests both). */
function innermost(err: unknown): { code?: string; message?: string } {
  const found: { code?: string; message?: string } = {};
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    const x = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    if (found.code === undefined && typeof x.code === 'string') found.code = x.code;
    if (typeof x.message === 'string' && x.message !== '') found.message = x.message.split('\n')[0];
    e = Array.isArray(x.errors) && x.errors.length > 0 ? x.errors[0] : x.cause;
  }
  return found;
}
