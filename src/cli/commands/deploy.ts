import { readFileSync, writeFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { DeployBody } from '../../admin/deploys.js';
import { formatCounts } from '../../admin/progress.js';
import type { Fleet, FleetProgress } from '../../fleet/index.js';
import { instancePaths, readServerRuntime } from '../../server/instance.js';
import { cliConfig, openCommandPlatform } from '../context.js';
import { CliError } from '../failures.js';
import { appidArg, appidArgs } from '../appid-arg.js';

const out = (s: string) => process.stdout.write(`${s}\n`);
const usage = (message: string) => new CliError('WXO_ERR_USAGE', message);

function positiveInt(name: string, value: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d{1,15}$/.test(value) || Number(value) < 1 || Number(value) > max) throw usage(`${name} must be a whole number from 1 to ${max}, not ${JSON.stringify(value)}`);
  return Number(value);
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(resolve(file), 'utf8');
  } catch (err) {
    throw usage(`cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function readJsonObject(file: string, what: string): Record<string, unknown> {
  const text = readText(file, what);
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw usage(`the ${what} ${file} must hold one JSON object`);
}

/** `prefix=wx12,principal=青木,perm=18+17` → the engine's filter. */
function parseFilter(expr: string): NonNullable<DeployBody['targets']['filter']> {
  const filter: NonNullable<DeployBody['targets']['filter']> = {};
  for (const part of expr.split(',').filter(Boolean)) {
    const [key = '', ...rest] = part.split('=');
    const value = rest.join('=').trim();
    if (key === 'prefix') filter.appid_prefix = value;
    else if (key === 'principal') filter.principal_name = value;
    else if (key === 'perm') filter.func_info = value.split('+').map((v) => positiveInt('--filter perm', v, 10_000));
    else throw usage(`--filter takes prefix=…, principal=… and perm=N+M, not ${JSON.stringify(part)}`);
  }
  return filter;
}

interface CreateOpts {
  template: string;
  userVersion: string;
  userDesc?: string;
  all?: boolean;
  appid?: string[];
  filter?: string;
  extJson?: string;
  extJsonFormat?: string;
  extJsonDefault?: string;
  requireExtJson?: boolean;
  storedExtJson: boolean;
  audit: boolean;
  auditJson?: string;
  release: boolean;
  gray?: string;
  concurrency?: string;
  rate?: string;
  detach?: boolean;
  json?: boolean;
}

/** Flags → the admin API's body: the CLI, the API and the dashboard feed the engine the same thing. */
export function bodyFromFlags(o: CreateOpts): DeployBody {
  const chosen = [o.all, o.appid?.length, o.filter].filter(Boolean).length;
  if (chosen !== 1) throw usage('choose the targets with exactly one of --all, --appid <appid...> or --filter <expr>');
  const targets: DeployBody['targets'] = o.all ? { all: true } : o.appid?.length ? { appids: appidArgs(o.appid, '--appid') } : { filter: parseFilter(o.filter!) };
  const format = o.extJsonFormat ?? (o.extJson ? extname(o.extJson).slice(1).toLowerCase() : undefined);
  if (o.extJson && format !== 'json' && format !== 'csv') throw usage(`--ext-json ${o.extJson}: name a .json or .csv file, or say --ext-json-format json|csv`);
  const dflt = o.extJsonDefault === undefined ? undefined : o.extJsonDefault.trim().startsWith('{') ? o.extJsonDefault : JSON.stringify(readJsonObject(o.extJsonDefault, 'default ext_json file'));
  if (!o.audit && o.gray !== undefined) throw usage('--gray releases after the audit: it cannot go with --no-audit');
  return {
    template_id: positiveInt('--template', o.template),
    user_version: o.userVersion,
    ...(o.userDesc !== undefined && { user_desc: o.userDesc }),
    targets,
    ext_json: {
      ...(o.extJson && { file: { format: format as 'json' | 'csv', content: readText(o.extJson, 'ext_json file') } }),
      ...(dflt !== undefined && { default: dflt }),
      use_stored: o.storedExtJson,
      ...(o.requireExtJson && { required: true }),
    },
    options: {
      submit_audit: o.audit,
      release: o.audit && o.release,
      ...(o.auditJson && { audit: readJsonObject(o.auditJson, 'audit settings file') }),
      ...(o.gray !== undefined && { gray_percentage: positiveInt('--gray', o.gray, 100) }),
      ...(o.concurrency !== undefined && { concurrency: positiveInt('--concurrency', o.concurrency, 256) }),
      ...(o.rate !== undefined && { rates: o.rate }),
    },
  };
}

interface OpenFleet {
  fleet: Fleet;
  /** Whether this process runs the steps (no server is running to do it). */
  runsHere: boolean;
  close(): Promise<void>;
}

/**
 * The project's fleet. When `wxopen serve` is running its runner does the work and this process only
 * reads the store; otherwise this process runs the steps itself while it watches.
 */
async function openFleet(options: { run: boolean }): Promise<OpenFleet> {
  const config = cliConfig();
  const server = readServerRuntime(instancePaths(config).runtime);
  const p = await openCommandPlatform(config);
  const { createFleet } = await import('../../fleet/index.js');
  const fleet = createFleet({ platform: p.platform, store: p.store, config, logger: p.logger });
  const runsHere = options.run && !server;
  if (runsHere) await fleet.start();
  return {
    fleet,
    runsHere,
    async close() {
      if (runsHere) await fleet.stop();
      await p.close();
    },
  };
}

async function withFleet<T>(run: (f: OpenFleet) => Promise<T>, options = { run: false }): Promise<T> {
  const f = await openFleet(options);
  try {
    return await run(f);
  } finally {
    await f.close();
  }
}

/** Done, cancelled, or paused (a pause waits for the operator: resume or retry). */
const over = (p: FleetProgress) => p.job.status !== 'running';

/**
 * Watches a job until it is done, cancelled or paused: a bar redrawn in place on a terminal, a plain
 * line per change otherwise. Ctrl-C stops watching, never the job.
 */
async function watch(fleet: Fleet, jobId: string, intervalMs: number): Promise<FleetProgress> {
  const { progressBar, progressLine } = await import('../../admin/progress.js');
  const tty = process.stdout.isTTY === true;
  let interrupted = false;
  const onInt = () => {
    interrupted = true;
  };
  process.once('SIGINT', onInt);
  let last = '';
  try {
    for (;;) {
      const p = await fleet.progress(jobId);
      if (tty) process.stdout.write(`\r\u001b[2K${progressBar(p, process.stdout.columns || 100)}`);
      else {
        const line = progressLine(p);
        if (line.replace(/ · [^·]*\/s · .*$/, '') !== last) out(line);
        last = line.replace(/ · [^·]*\/s · .*$/, '');
      }
      if (over(p) || interrupted) {
        if (tty) process.stdout.write('\n');
        if (interrupted) out(`stopped watching; the job goes on. Watch again: wxopen deploy status ${jobId} --watch`);
        return p;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  } finally {
    process.removeListener('SIGINT', onInt);
  }
}

function summary(p: FleetProgress): void {
  out(`job ${p.job.id}: ${p.job.status}${p.job.pause ? ` (${p.job.pause.message})` : ''}; ${p.settled}/${p.total} settled; ${formatCounts(p.counts)}`);
  for (const f of p.failures.slice(0, 20)) {
    const reason = f.reason.replace(/<br\s*\/?>/gi, ' ').replace(new RegExp(`^${f.errcode ?? ''}\\s+`), '');
    out(`  ${f.appid} ${f.state}${f.errcode === null ? '' : ` ${f.errcode}`}: ${reason}`);
  }
  if (p.failures.length > 20) out(`  … ${p.failures.length - 20} more: wxopen deploy report ${p.job.id} --format csv`);
  if (p.job.status === 'paused') out(`resume with: wxopen deploy resume ${p.job.id}`);
  else if (p.failures.length) out(`retry them with: wxopen deploy retry ${p.job.id}`);
}

/** A finished job with failed or rejected merchants exits 2, so scripts notice. */
function finish(p: FleetProgress): void {
  if (p.job.status === 'paused') process.exitCode = 3;
  else if (p.counts.failed + p.counts.rejected > 0) process.exitCode = 2;
}

const WATCH_MS = 500;

/** `wxopen deploy …`: publish one template to many mini programs (issue 15). */
export function registerDeployCommands(program: Command): void {
  const deploy = program.command('deploy').description('deploy a template to many mini programs: commit → audit → release, resumable, each merchant once');

  deploy
    .command('create')
    .description('validate and start a deploy job, then watch it (a progress bar on a terminal, plain lines when piped). Exit 2 when merchants failed, 3 when paused')
    .requiredOption('--template <id>', 'template id (wxopen templates list)')
    .requiredOption('--user-version <version>', 'user_version of the release (at most 64 characters)')
    .option('--user-desc <text>', 'user_desc of the release')
    .option('--all', 'every authorized mini program with code management (permission set 18)')
    .option('--appid <appid...>', 'these mini programs')
    .option('--filter <expr>', 'mini programs matching prefix=<appid prefix>,principal=<text>,perm=<id>+<id>')
    .option('--ext-json <file>', 'per-merchant ext_json: a .json file {"wx…": {…}} or a .csv file with header appid,ext_json')
    .option('--ext-json-format <format>', 'json or csv when the file name does not say')
    .option('--ext-json-default <file|json>', 'ext_json for merchants with none of their own')
    .option('--require-ext-json', 'refuse the job if a merchant has no ext_json')
    .option('--no-stored-ext-json', 'ignore the ext_json stored per authorizer')
    .option('--no-audit', 'commit only (no submit_audit)')
    .option('--audit-json <file>', 'submit_audit settings: item_list, privacy_api_not_use, version_desc, …')
    .option('--no-release', 'stop at approved (no release)')
    .option('--gray <percent>', 'release as a gray release to this percentage (1-100)')
    .option('--concurrency <n>', 'merchants in flight at once (default 8)')
    .option('--rate <spec>', 'API rates for this job, e.g. wxa/commit=20/s,wxa/submit_audit=5/s')
    .option('--detach', 'print the job id and return without watching')
    .option('--json', 'print the final progress as JSON')
    .action(async (o: CreateOpts) => {
      const body = bodyFromFlags(o);
      const { deployInput, progressView } = await import('../../admin/deploys.js');
      await withFleet(
        async ({ fleet, runsHere }) => {
          const job = await fleet.createJob(deployInput(body, 'cli'));
          if (o.detach) {
            out(o.json ? JSON.stringify(progressView(await fleet.progress(job.id))) : job.id);
            if (runsHere) process.stderr.write(`wxopen: no server is running; the job starts when one does (wxopen serve) or with: wxopen deploy status ${job.id} --watch\n`);
            return;
          }
          if (!o.json) out(`job ${job.id}: template ${job.templateId} ${job.userVersion} to ${job.total} mini program${job.total === 1 ? '' : 's'}${runsHere ? ' (running in this process)' : ' (running in the server)'}`);
          const p = await watch(fleet, job.id, WATCH_MS);
          if (o.json) out(JSON.stringify(progressView(p)));
          else summary(p);
          finish(p);
        },
        { run: !o.detach },
      );
    });

  deploy
    .command('list')
    .description('deploy jobs, newest first')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      await withFleet(async ({ fleet }) => {
        const jobs = await fleet.listJobs({ limit: 50 });
        if (o.json) {
          const { jobView } = await import('../../admin/deploys.js');
          return out(JSON.stringify(jobs.map(jobView)));
        }
        if (jobs.length === 0) return out('no deploy jobs');
        for (const j of jobs) out(`${j.id}  ${j.status.padEnd(9)} template ${j.templateId} ${j.userVersion.padEnd(10)} ${String(j.total).padStart(6)} targets  ${new Date(j.createdAt).toISOString()}`);
      });
    });

  deploy
    .command('status')
    .description('counts per state, rate, ETA and failures of a job; --watch follows it live')
    .argument('<job>', 'job id')
    .option('--watch', 'follow the job until it is done (runs its steps here when no server is running)')
    .option('--json', 'print JSON')
    .action(async (jobId: string, o: { watch?: boolean; json?: boolean }) => {
      await withFleet(
        async ({ fleet }) => {
          const p = o.watch ? await watch(fleet, jobId, WATCH_MS) : await fleet.progress(jobId);
          if (o.json) {
            const { progressView } = await import('../../admin/deploys.js');
            out(JSON.stringify(progressView(p)));
          } else summary(p);
          if (o.watch) finish(p);
        },
        { run: o.watch === true },
      );
    });

  deploy
    .command('report')
    .description("every merchant of a job: state, audit id, WeChat's errcode and reason")
    .argument('<job>', 'job id')
    .option('--format <format>', 'json or csv', 'json')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(async (jobId: string, o: { format: string; output?: string }) => {
      if (o.format !== 'json' && o.format !== 'csv') throw usage('--format must be json or csv');
      await withFleet(async ({ fleet }) => {
        const [{ reportToCsv }, { jobView, targetView }] = await Promise.all([import('../../fleet/index.js'), import('../../admin/deploys.js')]);
        const [job, targets] = await Promise.all([fleet.getJob(jobId), fleet.report(jobId)]);
        const text = o.format === 'csv' ? reportToCsv(targets) : `${JSON.stringify({ job: jobView(job), targets: targets.map(targetView) }, null, 2)}\n`;
        if (o.output) {
          writeFileSync(resolve(o.output), text);
          out(`wrote ${targets.length} merchants to ${o.output}`);
        } else process.stdout.write(text);
      });
    });

  const appidsOption = (c: Command) => c.option('--appid <appid...>', 'only these merchants').option('--json', 'print JSON');
  appidsOption(deploy.command('retry').description('retry failed merchants from the step that failed, rejected ones from the commit (resumes a paused job)').argument('<job>', 'job id')).action(
    async (jobId: string, o: { appid?: string[]; json?: boolean }) => {
      appidArgs(o.appid, '--appid');
      await withFleet(async ({ fleet }) => {
        const r = await fleet.retry(jobId, o.appid ? { appids: o.appid } : {});
        out(o.json ? JSON.stringify(r) : `queued ${r.retried.length} merchant${r.retried.length === 1 ? '' : 's'} again${r.retried.length ? `; watch: wxopen deploy status ${jobId} --watch` : ''}`);
      });
    },
  );
  for (const [name, verb, description] of [
    ['undo', 'withdrew', 'withdraw audits in progress (undocodeaudit; 5 a day and 10 a month per mini program, 87013)'],
    ['rollback', 'rolled back', 'roll released merchants back to their previous version (revertcoderelease)'],
  ] as const) {
    appidsOption(deploy.command(name).description(description).argument('<job>', 'job id')).action(async (jobId: string, o: { appid?: string[]; json?: boolean }) => {
      appidArgs(o.appid, '--appid');
      await withFleet(async ({ fleet }) => {
        const options = o.appid ? { appids: o.appid } : {};
        const r = name === 'undo' ? await fleet.withdraw(jobId, options) : await fleet.rollback(jobId, options);
        if (o.json) return out(JSON.stringify(r));
        out(`${verb} ${r.done.length}, skipped ${r.skipped.length}, failed ${r.failed.length}`);
        for (const f of r.failed) out(`  ${f.appid} ${f.errcode}: ${f.errmsg}`);
        if (r.failed.length) process.exitCode = 2;
      });
    });
  }
  const ext = deploy.command('ext-json').description("each merchant's stored ext_json (used by later jobs unless --ext-json overrides it)");
  ext
    .command('set')
    .description("store a merchant's ext_json (checked as a deploy would)")
    .argument('<appid>', 'authorizer appid')
    .argument('<json>', 'a JSON object, or a file holding one')
    .action(async (appid: string, value: string) => {
      // As the admin API's schema: a typo must not store ext_json under a merchant that cannot exist.
      appidArg(appid);
      const json = value.trim().startsWith('{') ? value : JSON.stringify(readJsonObject(value, 'ext_json file'));
      await withFleet(async ({ fleet }) => {
        await fleet.setExtJson(appid, json);
        out(`stored ext_json for ${appid}`);
      });
    });
  ext
    .command('get')
    .description("print a merchant's stored ext_json")
    .argument('<appid>', 'authorizer appid')
    .action(async (appid: string) => {
      appidArg(appid);
      await withFleet(async ({ fleet }) => {
        const json = await fleet.getExtJson(appid);
        if (json === undefined) throw new CliError('WXO_ERR_NOT_FOUND', `no stored ext_json for ${appid}`);
        out(json);
      });
    });
  ext
    .command('list')
    .description('every stored ext_json')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      await withFleet(async ({ fleet }) => {
        const all = await fleet.listExtJson();
        if (o.json) return out(JSON.stringify(all.map((e) => ({ appid: e.appid, ext_json: e.extJson, updated_at: new Date(e.updatedAt).toISOString() }))));
        if (all.length === 0) return out('no stored ext_json');
        for (const e of all) out(`${e.appid}  ${e.extJson.length > 100 ? `${e.extJson.slice(0, 99)}…` : e.extJson}`);
      });
    });
  ext
    .command('delete')
    .description("forget a merchant's stored ext_json")
    .argument('<appid>', 'authorizer appid')
    .action(async (appid: string) => {
      appidArg(appid);
      await withFleet(async ({ fleet }) => {
        if (!(await fleet.deleteExtJson(appid))) throw new CliError('WXO_ERR_NOT_FOUND', `no stored ext_json for ${appid}`);
        out(`deleted ext_json of ${appid}`);
      });
    });

  for (const name of ['pause', 'resume', 'cancel'] as const) {
    deploy
      .command(name)
      .description(name === 'cancel' ? 'cancel a job: merchants not started are not started' : `${name} a job`)
      .argument('<job>', 'job id')
      .action(async (jobId: string) => {
        await withFleet(async ({ fleet }) => {
          await fleet[name](jobId);
          out(`${jobId}: ${(await fleet.getJob(jobId)).status}`);
        });
      });
  }
}
