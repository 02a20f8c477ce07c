import { FleetValidationError, type FleetIssue } from './errors.js';

/** WeChat refuses larger code packages' configs long before this; it catches a wrong file early. */
export const EXT_JSON_MAX_BYTES = 512 * 1024;

export type ExtJsonCheck = { ok: true; json: string } | { ok: false; problem: string };

/**
 * A merchant's ext_json as WeChat wants it (spec 5.2): a string holding a JSON object (85013 otherwise),
 * whose `extAppid`, when present, is that merchant (a copy-paste of another merchant's config is the
 * usual mistake). Objects are serialized; strings are checked as they are.
 */
export function validateExtJson(appid: string, value: unknown): ExtJsonCheck {
  let json: string;
  let parsed: unknown;
  if (typeof value === 'string') {
    json = value;
    try {
      parsed = JSON.parse(value);
    } catch (err) {
      return { ok: false, problem: `not JSON (${(err as Error).message})` };
    }
  } else {
    parsed = value;
    json = JSON.stringify(value ?? null);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, problem: 'must be a JSON object' };
  const extAppid = (parsed as Record<string, unknown>).extAppid;
  if (extAppid !== undefined && extAppid !== appid) return { ok: false, problem: `extAppid is ${JSON.stringify(extAppid)}, not this merchant` };
  if (Buffer.byteLength(json) > EXT_JSON_MAX_BYTES) return { ok: false, problem: `larger than ${EXT_JSON_MAX_BYTES} bytes` };
  return { ok: true, json };
}

/**
 * An ext_json file keyed by appid → appid → ext_json string. JSON: `{ "wx…": {…} | "…" }`. CSV: a header
 * with `appid` and `ext_json` columns (RFC 4180 quoting). Throws FleetValidationError naming lines.
 */
export function parseExtJsonFile(text: string, format: 'json' | 'csv'): Record<string, string> {
  return format === 'json' ? parseJsonFile(text) : parseCsvFile(text);
}

function parseJsonFile(text: string): Record<string, string> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new FleetValidationError([{ field: 'file', problem: `not JSON (${(err as Error).message})` }], 'ext_json file');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new FleetValidationError([{ field: 'file', problem: 'must be an object keyed by appid' }], 'ext_json file');
  }
  const out: Record<string, string> = {};
  for (const [appid, v] of Object.entries(data)) out[appid] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

function parseCsvFile(text: string): Record<string, string> {
  const rows = parseCsv(text);
  const header = rows.shift()?.fields.map((h) => h.trim().toLowerCase());
  const ai = header?.indexOf('appid') ?? -1;
  const ei = header?.indexOf('ext_json') ?? -1;
  if (!header || ai < 0 || ei < 0) throw new FleetValidationError([{ field: 'file', problem: 'CSV needs a header with appid and ext_json columns' }], 'ext_json file');
  const out: Record<string, string> = {};
  const issues: FleetIssue[] = [];
  for (const row of rows) {
    if (row.fields.length === 1 && row.fields[0] === '') continue;
    const appid = row.fields[ai]?.trim();
    const ext = row.fields[ei];
    if (!appid || ext === undefined) issues.push({ field: `line ${row.line}`, problem: 'missing appid or ext_json' });
    else if (out[appid] !== undefined) issues.push({ appid, field: `line ${row.line}`, problem: 'appid appears twice' });
    else out[appid] = ext;
  }
  if (issues.length) throw new FleetValidationError(issues, 'ext_json file');
  return out;
}

/** RFC 4180 rows with the line each starts on. Hand-written (30 lines): one use, no dependency worth it. */
export function parseCsv(text: string): Array<{ line: number; fields: string[] }> {
  const rows: Array<{ line: number; fields: string[] }> = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  const s = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quoted) {
      if (ch === '"' && s[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') fields.push(field), (field = '');
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && s[i + 1] === '\n') i++;
      fields.push(field);
      rows.push({ line: start, fields });
      fields = [];
      field = '';
      start = ++line;
    } else field += ch;
  }
  if (field !== '' || fields.length) rows.push({ line: start, fields: [...fields, field] });
  return rows;
}

/** One CSV field, quoted when it needs to be. */
export function csvField(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
