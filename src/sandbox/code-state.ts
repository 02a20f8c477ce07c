import { randomBytes } from 'node:crypto';
import { chinaDay, chinaMonth } from './clock.js';
import { reject } from './errors.js';
import type { AuditOutcome } from './options.js';
import type { SandboxState } from './state.js';

const UNDO_PER_DAY = 5;
const UNDO_PER_MONTH = 10;
const USER_VERSION_MAX = 64;
const STANDARD_EXT_KEYS = new Set(['extAppid', 'ext', 'window']);
const DEFAULT_FAIL_REASON = '1:小程序页面内容不完整<br>2:请补充测试账号';
const DEFAULT_DELAY_REASON = '审核排队中，预计延后';

export interface CodeVersion {
  templateId: number;
  userVersion: string;
  userDesc: string;
  extJson: string;
  pages: string[];
  /** Epoch ms. */
  committedAt: number;
}

/** status: 0 passed · 1 rejected · 2 auditing · 3 withdrawn · 4 delayed (spec 5.2). */
export interface Audit {
  auditid: number;
  version: CodeVersion;
  status: 0 | 1 | 2 | 3 | 4;
  submitAt: number;
  /** When the next audit transition happens (sandbox ms). */
  dueAt: number;
  outcome: AuditOutcome;
  reason?: string;
  screenshot?: string;
  released: boolean;
}

export interface Release {
  appVersion: number;
  version: CodeVersion;
  auditid: number;
  releasedAt: number;
}

export interface GrayPlan {
  /** 1 running, 3 finished, 4 cancelled. */
  status: 1 | 3 | 4;
  percentage: number;
  createdAt: number;
  auditid: number;
}

export interface MiniProgramCode {
  committed?: CodeVersion;
  audits: Audit[];
  online?: Release;
  history: Release[];
  gray?: GrayPlan;
  testers: Map<string, string>;
  domains: Record<DomainKind, string[]>;
  undo: { day: number; dayCount: number; month: number; monthCount: number };
  /** change_visitstatus: a closed mini program cannot be opened by users (getvisitstatus 0). */
  visitClosed?: boolean;
  /** setwebviewdomain's business domains. */
  webviewDomains?: string[];
}

export const DOMAIN_KINDS = ['requestdomain', 'wsrequestdomain', 'uploaddomain', 'downloaddomain', 'udpdomain', 'tcpdomain'] as const;
export type DomainKind = (typeof DOMAIN_KINDS)[number];

export function codeFor(state: SandboxState, appid: string): MiniProgramCode {
  let code = state.code.get(appid);
  if (!code) {
    code = {
      audits: [],
      history: [],
      testers: new Map(),
      domains: { requestdomain: [], wsrequestdomain: [], uploaddomain: [], downloaddomain: [], udpdomain: [], tcpdomain: [] },
      undo: { day: -1, dayCount: 0, month: -1, monthCount: 0 },
    };
    state.code.set(appid, code);
  }
  return code;
}

/** wxa/commit (spec 5.2): a numeric, existing template_id; ext_json a string holding JSON. */
export function commitCode(state: SandboxState, appid: string, body: Record<string, unknown>): void {
  const { template_id: templateId, ext_json: extJson, user_version: userVersion, user_desc: userDesc } = body;
  if (typeof templateId !== 'number' || !Number.isInteger(templateId)) reject(85014);
  const template = state.templates.get(templateId);
  if (!template) reject(85014);
  if (extJson !== undefined && typeof extJson !== 'string') reject(47001, 'data format error hint: ext_json must be a string');
  let ext: unknown = {};
  if (typeof extJson === 'string' && extJson !== '') {
    try {
      ext = JSON.parse(extJson);
    } catch {
      reject(85013);
    }
    if (typeof ext !== 'object' || ext === null || Array.isArray(ext)) reject(85013);
  }
  if (template.template_type === 1 && Object.keys(ext as object).some((k) => !STANDARD_EXT_KEYS.has(k))) reject(9402203);
  if (typeof userVersion !== 'string' || userVersion === '' || userVersion.length > USER_VERSION_MAX) reject(85015);
  if (userDesc !== undefined && typeof userDesc !== 'string') reject(47001);
  codeFor(state, appid).committed = {
    templateId,
    userVersion,
    userDesc: userDesc ?? '',
    extJson: typeof extJson === 'string' ? extJson : '',
    pages: template.pages,
    committedAt: state.clock.now(),
  };
}

export function committedVersion(state: SandboxState, appid: string): CodeVersion {
  const committed = codeFor(state, appid).committed;
  if (!committed) reject(86001);
  return committed;
}

export function inProgressAudit(code: MiniProgramCode): Audit | undefined {
  return code.audits.find((a) => a.status === 2 || a.status === 4);
}

/** submit_audit (spec 5.2, 5.5). Returns the new auditid. */
export function submitAudit(state: SandboxState, appid: string, body: Record<string, unknown>): number {
  const code = codeFor(state, appid);
  const account = state.account(appid);
  if (!code.committed) reject(85086);
  if (inProgressAudit(code)) reject(85009);
  const items = body.item_list;
  if (items !== undefined) {
    if (!Array.isArray(items) || items.length < 1 || items.length > 5) reject(85023);
    for (const item of items as Array<Record<string, unknown>>) {
      if (typeof item !== 'object' || item === null) reject(47001);
      if (item.first_id === undefined) continue;
      const known = (account.categories ?? []).some((c) => c.first_id === item.first_id && c.second_id === item.second_id);
      if (!known) reject(85077);
    }
  }
  if (!account.nickName) reject(86002);
  const now = state.clock.now();
  if (now < code.committed.committedAt + state.settings.privacyCheckSeconds * 1000) reject(61039);
  const month = chinaMonth(now);
  const submitted = state.auditSubmissions.get(month) ?? 0;
  if (submitted >= state.settings.auditQuotaPerMonth) reject(85085);
  state.auditSubmissions.set(month, submitted + 1);
  const configured = state.auditOutcomes.get(appid);
  const audit: Audit = {
    auditid: state.nextAuditId++,
    version: code.committed,
    status: 2,
    submitAt: now,
    dueAt: now + state.settings.auditDelaySeconds * 1000,
    outcome: configured?.outcome ?? state.settings.auditOutcome,
    released: false,
  };
  if (configured?.reason !== undefined) audit.reason = configured.reason;
  code.audits.push(audit);
  return audit.auditid;
}

export interface AuditEvent {
  appid: string;
  fields: Record<string, string | number>;
}

/** Moves every audit whose time has come and returns the events WeChat would push for them. */
export function progressAudits(state: SandboxState): AuditEvent[] {
  const now = state.clock.now();
  const events: AuditEvent[] = [];
  for (const [appid, code] of state.code) {
    for (const audit of code.audits) {
      if ((audit.status !== 2 && audit.status !== 4) || now < audit.dueAt) continue;
      const at = Math.floor(audit.dueAt / 1000);
      if (audit.status === 2 && audit.outcome === 'delay') {
        audit.status = 4;
        audit.reason ??= DEFAULT_DELAY_REASON;
        audit.dueAt += state.settings.auditDelaySeconds * 1000;
        events.push({ appid, fields: { Event: 'weapp_audit_delay', Reason: audit.reason, DelayTime: at } });
      } else if (audit.outcome === 'fail') {
        audit.status = 1;
        audit.reason ??= DEFAULT_FAIL_REASON;
        audit.screenshot = `${randomBytes(16).toString('hex')}|${randomBytes(16).toString('hex')}`;
        events.push({ appid, fields: { Event: 'weapp_audit_fail', Reason: audit.reason, FailTime: at, ScreenShot: audit.screenshot } });
      } else {
        audit.status = 0;
        delete audit.reason;
        events.push({ appid, fields: { Event: 'weapp_audit_success', SuccTime: at } });
      }
    }
  }
  return events;
}

/** The earliest pending audit transition, for the scheduler's timer. */
export function nextAuditDue(state: SandboxState): number | undefined {
  let next: number | undefined;
  for (const code of state.code.values()) {
    for (const a of code.audits) if ((a.status === 2 || a.status === 4) && (next === undefined || a.dueAt < next)) next = a.dueAt;
  }
  return next;
}

export function findAudit(state: SandboxState, appid: string, auditid: unknown): Audit {
  const audit = codeFor(state, appid).audits.find((a) => a.auditid === Number(auditid));
  if (auditid === undefined || auditid === null || auditid === '' || !audit) reject(85012);
  return audit;
}

/** undocodeaudit: 5 per day and 10 per month per mini program (87013), counted when it succeeds. */
export function undoAudit(state: SandboxState, appid: string): void {
  const code = codeFor(state, appid);
  const now = state.clock.now();
  const day = chinaDay(now);
  const month = chinaMonth(now);
  if (code.undo.day !== day) Object.assign(code.undo, { day, dayCount: 0 });
  if (code.undo.month !== month) Object.assign(code.undo, { month, monthCount: 0 });
  if (code.undo.dayCount >= UNDO_PER_DAY || code.undo.monthCount >= UNDO_PER_MONTH) reject(87013);
  const audit = inProgressAudit(code);
  if (!audit) reject(85020, 'no version under audit to undo');
  audit.status = 3;
  code.undo.dayCount += 1;
  code.undo.monthCount += 1;
}

/** The newest passed audit, if it has not been released yet. */
function releasableAudit(code: MiniProgramCode): Audit | undefined {
  const passed = code.audits.filter((a) => a.status === 0);
  const latest = passed[passed.length - 1];
  return latest && !latest.released ? latest : undefined;
}

export function releaseCode(state: SandboxState, appid: string): void {
  const code = codeFor(state, appid);
  const audit = releasableAudit(code);
  if (!audit) {
    if (code.audits.some((a) => a.status === 0 && a.released)) reject(85052);
    reject(85019);
  }
  audit.released = true;
  const release: Release = { appVersion: state.nextAppVersion++, version: audit.version, auditid: audit.auditid, releasedAt: state.clock.now() };
  code.online = release;
  code.history.push(release);
  if (code.gray?.status === 1) code.gray.status = 3;
}

export function revertRelease(state: SandboxState, appid: string, appVersion: string | undefined): void {
  const code = codeFor(state, appid);
  if (code.gray?.status === 1) reject(87011);
  const current = code.online;
  const candidates = code.history.filter((r) => r !== current);
  const target =
    appVersion === undefined ? candidates[candidates.length - 1] : candidates.find((r) => String(r.appVersion) === appVersion);
  if (!current || !target) reject(87012);
  code.online = target;
}

export function grayRelease(state: SandboxState, appid: string, percentage: unknown): void {
  const code = codeFor(state, appid);
  if (typeof percentage !== 'number' || !Number.isInteger(percentage) || percentage < 1 || percentage > 100) reject(85081);
  if (!code.online) reject(85079);
  if (code.gray?.status === 1) {
    if (percentage <= code.gray.percentage) reject(85082);
    code.gray.percentage = percentage;
    return;
  }
  const audit = releasableAudit(code);
  if (!audit) reject(85080);
  code.gray = { status: 1, percentage, createdAt: state.clock.now(), auditid: audit.auditid };
}
