import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../util/logger.js';
import type { SandboxContext } from './context.js';

/** Bump when a snapshot of an older shape can no longer be restored as is. */
export const SANDBOX_SNAPSHOT_VERSION = 1;

/**
 * What a restart must not forget, as paths into the context. Everything reachable from these is
 * saved (Maps, Sets, arrays, plain and class-instance fields alike), so state added to SandboxState
 * later persists without code here. Left out on purpose: what the options and the configuration
 * decide at start (component, settings, platform, limits) and the clock object itself.
 */
const SKIP: Record<string, ReadonlySet<string>> = {
  state: new Set(['component', 'clock', 'settings', 'platform']),
  quotas: new Set(['clock', 'limits']),
};

type Encoded = null | boolean | number | string | Encoded[] | { [key: string]: Encoded };

const MAP = '$map';
const SET = '$set';
const DATE = '$date';

function encode(value: unknown, skip?: ReadonlySet<string>): Encoded | undefined {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $num: String(value) };
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') return undefined;
  if (value instanceof Map) return { [MAP]: [...value].map(([k, v]) => [encode(k) ?? null, encode(v) ?? null]) };
  if (value instanceof Set) return { [SET]: [...value].map((v) => encode(v) ?? null) };
  if (value instanceof Date) return { [DATE]: value.toISOString() };
  if (Array.isArray(value)) return value.map((v) => encode(v) ?? null);
  const out: Record<string, Encoded> = {};
  for (const [k, v] of Object.entries(value as object)) {
    if (skip?.has(k)) continue;
    const e = encode(v);
    if (e !== undefined) out[k] = e;
  }
  return out;
}

function decode(value: Encoded): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(decode);
  if (MAP in value) return new Map((value[MAP] as [Encoded, Encoded][]).map(([k, v]) => [decode(k), decode(v)]));
  if (SET in value) return new Set((value[SET] as Encoded[]).map(decode));
  if (DATE in value) return new Date(value[DATE] as string);
  if ('$num' in value) return Number(value.$num);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
}

/**
 * Restores `saved` into the live object `target` in place, keeping its identity and prototype (the
 * routes hold references to these objects): collections are refilled, nested objects restored
 * field by field, anything else assigned.
 */
function restoreInto(target: Record<string, unknown>, saved: Record<string, Encoded>): void {
  for (const [key, value] of Object.entries(saved)) {
    const current = target[key];
    const decoded = decode(value);
    if (current instanceof Map && decoded instanceof Map) {
      current.clear();
      for (const [k, v] of decoded) current.set(k, v);
    } else if (current instanceof Set && decoded instanceof Set) {
      current.clear();
      for (const v of decoded) current.add(v);
    } else if (Array.isArray(current) && Array.isArray(decoded)) {
      current.splice(0, current.length, ...(decoded as unknown[]));
    } else if (current !== null && typeof current === 'object' && !(current instanceof Date) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      restoreInto(current as Record<string, unknown>, value as Record<string, Encoded>);
    } else if (typeof current !== 'function') {
      target[key] = decoded;
    }
  }
}

interface Snapshot {
  version: number;
  componentAppid: string;
  savedAt: string;
  clockOffsetMs: number;
  state: Encoded;
  quotas: Encoded;
}

export function snapshotSandbox(ctx: SandboxContext): string {
  const snapshot: Snapshot = {
    version: SANDBOX_SNAPSHOT_VERSION,
    componentAppid: ctx.state.component.appid,
    savedAt: new Date().toISOString(),
    clockOffsetMs: ctx.clock.offset(),
    state: encode(ctx.state, SKIP.state) ?? null,
    quotas: encode(ctx.quotas, SKIP.quotas) ?? null,
  };
  return JSON.stringify(snapshot);
}

/** Loads a snapshot into a freshly built sandbox; returns why it was not used, or undefined. */
export function restoreSandbox(ctx: SandboxContext, text: string): string | undefined {
  let snapshot: Snapshot;
  try {
    snapshot = JSON.parse(text) as Snapshot;
  } catch {
    return 'not valid JSON';
  }
  if (snapshot.version !== SANDBOX_SNAPSHOT_VERSION) return `version ${String(snapshot.version)}, this wxopen reads ${SANDBOX_SNAPSHOT_VERSION}`;
  if (snapshot.componentAppid !== ctx.state.component.appid) return `it belongs to component ${snapshot.componentAppid}`;
  if (typeof snapshot.state === 'object' && snapshot.state !== null && !Array.isArray(snapshot.state)) {
    restoreInto(ctx.state as unknown as Record<string, unknown>, snapshot.state);
  }
  if (typeof snapshot.quotas === 'object' && snapshot.quotas !== null && !Array.isArray(snapshot.quotas)) {
    restoreInto(ctx.quotas as unknown as Record<string, unknown>, snapshot.quotas);
  }
  // The clock only moves forward: a restart resumes at the simulated time it stopped at (or later).
  const behind = snapshot.clockOffsetMs - ctx.clock.offset();
  if (Number.isFinite(behind) && behind > 0) ctx.clock.advance(behind);
  return undefined;
}

export interface SandboxPersistence {
  /** Saves soon (debounced); called after anything that may have changed the state. */
  touch(): void;
  /** Saves now, synchronously, if anything changed (at close). */
  flush(): void;
  stop(): void;
}

const DEBOUNCE_MS = 200;
/** Also saved on this period: timers (ticket schedule, audits) change state without a request. */
const PERIOD_MS = 5_000;

/**
 * Keeps the sandbox's state in `file`: loaded at start, written atomically (tmp + rename) after
 * changes, debounced, and at close. A file that cannot be used is moved aside, never silently lost.
 */
export function persistSandbox(ctx: SandboxContext, file: string, logger?: Logger): SandboxPersistence {
  if (existsSync(file)) {
    const problem = restoreSandbox(ctx, readFileSync(file, 'utf8'));
    if (problem !== undefined) {
      const aside = `${file}.unusable-${Date.now()}`;
      renameSync(file, aside);
      logger?.warn({ file, aside, problem }, 'sandbox state file not used; starting a fresh sandbox');
    }
  }
  let last = snapshotSandbox(ctx);
  let timer: NodeJS.Timeout | undefined;
  const save = () => {
    timer = undefined;
    const text = snapshotSandbox(ctx);
    // savedAt differs on every snapshot; compare the rest.
    if (text.slice(text.indexOf(',"clockOffsetMs"')) === last.slice(last.indexOf(',"clockOffsetMs"')) && existsSync(file)) return;
    try {
      mkdirSync(dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, text);
      renameSync(tmp, file);
      last = text;
    } catch (err) {
      logger?.error({ err, file }, 'could not save the sandbox state');
    }
  };
  const periodic = setInterval(save, PERIOD_MS);
  periodic.unref();
  return {
    touch() {
      if (timer === undefined) {
        timer = setTimeout(save, DEBOUNCE_MS);
        timer.unref();
      }
    },
    flush() {
      if (timer) clearTimeout(timer);
      save();
    },
    stop() {
      if (timer) clearTimeout(timer);
      clearInterval(periodic);
    },
  };
}
