import type { AuthorizerRecord } from '../store/types.js';
import type { FleetIssue } from './errors.js';
import { validateExtJson } from './ext-json.js';
import { resolveOptions, type DeployOptions, type ResolvedDeployOptions } from './model.js';

/** Permission set 18: mini-program code management, needed for every fleet call. */
export const CODE_MANAGEMENT_SET = 18;
const USER_VERSION_MAX = 64;

export type TargetSelector =
  | { all: true }
  | { appids: readonly string[] }
  | { filter: { appidPrefix?: string; principalName?: string; funcInfo?: readonly number[] } };

export interface ExtJsonSources {
  byAppid?: Readonly<Record<string, string | Record<string, unknown>>>;
  /** Use `fleet.setExtJson` values; default true. */
  useStored?: boolean;
  default?: string | Record<string, unknown>;
  /** A merchant without ext_json is a problem; default false (it gets `{}`). */
  required?: boolean;
}

export interface CreateJobInput {
  templateId: number;
  userVersion: string;
  userDesc?: string;
  targets: TargetSelector;
  extJson?: ExtJsonSources;
  options?: DeployOptions;
  createdBy?: string;
}

export interface Plan {
  options: ResolvedDeployOptions;
  targets: Array<{ appid: string; extJson: string }>;
  issues: FleetIssue[];
}

/** A mini program this platform may deploy to: authorized, with code management granted. */
export function deployable(a: AuthorizerRecord): boolean {
  return a.status === 'authorized' && a.funcInfo.includes(CODE_MANAGEMENT_SET);
}

/**
 * The whole deploy, checked before anything is sent: the template, which merchants, each one's ext_json, the options.
 * Pure: the caller loads the authorizers, stored ext_json and the template library's ids. Every problem is listed, not the first.
 */
export function planDeploy(
  input: CreateJobInput,
  authorizers: readonly AuthorizerRecord[],
  stored: ReadonlyMap<string, string>,
  templateIds: ReadonlySet<number>,
): Plan {
  const issues: FleetIssue[] = [];
  const options = resolveOptions(input.options);
  if (!Number.isInteger(input.templateId) || input.templateId < 0) issues.push({ field: 'templateId', problem: 'must be a non-negative integer' });
  // WeChat only says so per merchant, at wxa/commit (85014), after the job is stored and running.
  else if (!templateIds.has(input.templateId)) issues.push({ field: 'templateId', problem: `template ${input.templateId} is not in the template library (wxopen templates list)` });
  if (typeof input.userVersion !== 'string' || input.userVersion === '' || input.userVersion.length > USER_VERSION_MAX) {
    issues.push({ field: 'userVersion', problem: `must be 1..${USER_VERSION_MAX} characters` });
  }
  const g = options.grayPercentage;
  if (g !== null && !(Number.isInteger(g) && g >= 1 && g <= 100)) issues.push({ field: 'options.grayPercentage', problem: 'must be an integer 1..100' });
  if (input.options?.release === true && !options.submitAudit) issues.push({ field: 'options.release', problem: 'needs submitAudit' });
  if (!(Number.isInteger(options.concurrency) && options.concurrency >= 1)) issues.push({ field: 'options.concurrency', problem: 'must be a positive integer' });
  if (!(options.pollIntervalMs >= 1000)) issues.push({ field: 'options.pollIntervalMs', problem: 'must be at least 1000' });
  const items = options.audit.item_list;
  if (items !== undefined && (items.length < 1 || items.length > 5)) issues.push({ field: 'options.audit.item_list', problem: '1..5 items (spec: 85023)' });

  const byAppid = new Map(authorizers.map((a) => [a.authorizerAppid, a]));
  let appids: string[];
  const sel = input.targets;
  if ('all' in sel) appids = authorizers.filter(deployable).map((a) => a.authorizerAppid);
  else if ('appids' in sel) {
    appids = [...new Set(sel.appids)];
    for (const appid of appids) {
      const a = byAppid.get(appid);
      if (!a) issues.push({ appid, field: 'targets', problem: 'not an authorizer of this platform' });
      else if (!deployable(a)) issues.push({ appid, field: 'targets', problem: `not authorized with code management (permission set ${CODE_MANAGEMENT_SET})` });
    }
  } else {
    const f = sel.filter;
    appids = authorizers
      .filter(deployable)
      .filter((a) => f.appidPrefix === undefined || a.authorizerAppid.startsWith(f.appidPrefix))
      .filter((a) => f.principalName === undefined || a.info?.principal_name === f.principalName)
      .filter((a) => (f.funcInfo ?? []).every((id) => a.funcInfo.includes(id)))
      .map((a) => a.authorizerAppid);
  }
  appids.sort();
  if (appids.length === 0) issues.push({ field: 'targets', problem: 'no mini program matches' });

  const src = input.extJson ?? {};
  const targets: Plan['targets'] = [];
  for (const appid of appids) {
    const value = src.byAppid?.[appid] ?? (src.useStored !== false ? stored.get(appid) : undefined) ?? src.default;
    if (value === undefined) {
      if (src.required) issues.push({ appid, field: 'extJson', problem: 'none given, stored or default' });
      targets.push({ appid, extJson: '{}' });
      continue;
    }
    const check = validateExtJson(appid, value);
    if (check.ok) targets.push({ appid, extJson: check.json });
    else issues.push({ appid, field: 'extJson', problem: check.problem });
  }
  const chosen = new Set(appids);
  for (const appid of Object.keys(src.byAppid ?? {})) {
    if (!chosen.has(appid)) issues.push({ appid, field: 'extJson', problem: 'given for a merchant that is not a target' });
  }
  return { options, targets, issues };
}
