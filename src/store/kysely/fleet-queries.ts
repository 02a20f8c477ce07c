import type { Kysely, Selectable } from 'kysely';
import type { FleetJobRecord, FleetTargetPatch, FleetTargetRecord } from '../types.js';
import type { Database, FleetJobsTable, FleetTargetsTable } from './schema.js';

// SQLite allows 32766 bound values per statement; 17 columns × 500 rows stays well under it.
const INSERT_CHUNK = 500;

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

function toJob(r: Selectable<FleetJobsTable>): FleetJobRecord {
  return {
    componentAppid: r.component_appid,
    jobId: r.job_id,
    templateId: Number(r.template_id),
    userVersion: r.user_version,
    userDesc: r.user_desc,
    options: JSON.parse(r.options) as Record<string, unknown>,
    status: r.status as FleetJobRecord['status'],
    pause: r.pause === null ? null : (JSON.parse(r.pause) as FleetJobRecord['pause']),
    total: Number(r.total),
    createdBy: r.created_by,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    finishedAt: num(r.finished_at),
  };
}

function toTarget(r: Selectable<FleetTargetsTable>): FleetTargetRecord {
  return {
    componentAppid: r.component_appid,
    jobId: r.job_id,
    appid: r.appid,
    state: r.state,
    extJson: r.ext_json,
    auditid: num(r.auditid),
    reason: r.reason,
    errcode: num(r.errcode),
    errmsg: r.errmsg,
    errorStep: r.error_step,
    intent: r.intent,
    intentAt: num(r.intent_at),
    leaseUntil: num(r.lease_until),
    nextAt: num(r.next_at),
    attempts: Number(r.attempts),
    version: Number(r.version),
    updatedAt: Number(r.updated_at),
  };
}

function targetColumns(p: FleetTargetPatch): Partial<FleetTargetsTable> {
  const out: Partial<FleetTargetsTable> = {};
  if (p.state !== undefined) out.state = p.state;
  if (p.extJson !== undefined) out.ext_json = p.extJson;
  if (p.auditid !== undefined) out.auditid = p.auditid;
  if (p.reason !== undefined) out.reason = p.reason;
  if (p.errcode !== undefined) out.errcode = p.errcode;
  if (p.errmsg !== undefined) out.errmsg = p.errmsg;
  if (p.errorStep !== undefined) out.error_step = p.errorStep;
  if (p.intent !== undefined) out.intent = p.intent;
  if (p.intentAt !== undefined) out.intent_at = p.intentAt;
  if (p.leaseUntil !== undefined) out.lease_until = p.leaseUntil;
  if (p.nextAt !== undefined) out.next_at = p.nextAt;
  if (p.attempts !== undefined) out.attempts = p.attempts;
  if (p.updatedAt !== undefined) out.updated_at = p.updatedAt;
  return out;
}

export async function createFleetJob(db: Kysely<Database>, job: FleetJobRecord, targets: FleetTargetRecord[]): Promise<void> {
  await db
    .insertInto('fleet_jobs')
    .values({
      component_appid: job.componentAppid,
      job_id: job.jobId,
      template_id: job.templateId,
      user_version: job.userVersion,
      user_desc: job.userDesc,
      options: JSON.stringify(job.options),
      status: job.status,
      pause: job.pause === null ? null : JSON.stringify(job.pause),
      total: job.total,
      created_by: job.createdBy,
      created_at: job.createdAt,
      updated_at: job.updatedAt,
      finished_at: job.finishedAt,
    })
    .execute();
  for (let i = 0; i < targets.length; i += INSERT_CHUNK) {
    await db
      .insertInto('fleet_targets')
      .values(
        targets.slice(i, i + INSERT_CHUNK).map((t) => ({
          component_appid: t.componentAppid,
          job_id: t.jobId,
          appid: t.appid,
          state: t.state,
          ext_json: t.extJson,
          auditid: t.auditid,
          reason: t.reason,
          errcode: t.errcode,
          errmsg: t.errmsg,
          error_step: t.errorStep,
          intent: t.intent,
          intent_at: t.intentAt,
          lease_until: t.leaseUntil,
          next_at: t.nextAt,
          attempts: t.attempts,
          version: t.version,
          updated_at: t.updatedAt,
        })),
      )
      .execute();
  }
}

export async function getFleetJob(db: Kysely<Database>, c: string, jobId: string): Promise<FleetJobRecord | undefined> {
  const r = await db.selectFrom('fleet_jobs').selectAll().where('component_appid', '=', c).where('job_id', '=', jobId).executeTakeFirst();
  return r && toJob(r);
}

export async function listFleetJobs(db: Kysely<Database>, c: string, o: { limit?: number; status?: string } = {}): Promise<FleetJobRecord[]> {
  let q = db.selectFrom('fleet_jobs').selectAll().where('component_appid', '=', c);
  if (o.status !== undefined) q = q.where('status', '=', o.status);
  const rows = await q.orderBy('created_at', 'desc').orderBy('job_id', 'desc').limit(o.limit ?? 50).execute();
  return rows.map(toJob);
}

export async function updateFleetJob(
  db: Kysely<Database>,
  c: string,
  jobId: string,
  patch: Partial<Pick<FleetJobRecord, 'status' | 'pause' | 'updatedAt' | 'finishedAt'>>,
  expectStatus?: readonly string[],
): Promise<boolean> {
  const set: Partial<FleetJobsTable> = {};
  if (patch.status !== undefined) set.status = patch.status;
  if (patch.pause !== undefined) set.pause = patch.pause === null ? null : JSON.stringify(patch.pause);
  if (patch.updatedAt !== undefined) set.updated_at = patch.updatedAt;
  if (patch.finishedAt !== undefined) set.finished_at = patch.finishedAt;
  let q = db.updateTable('fleet_jobs').set(set).where('component_appid', '=', c).where('job_id', '=', jobId);
  if (expectStatus !== undefined) q = q.where('status', 'in', [...expectStatus]);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function getFleetTarget(db: Kysely<Database>, c: string, jobId: string, appid: string): Promise<FleetTargetRecord | undefined> {
  const r = await db
    .selectFrom('fleet_targets')
    .selectAll()
    .where('component_appid', '=', c)
    .where('job_id', '=', jobId)
    .where('appid', '=', appid)
    .executeTakeFirst();
  return r && toTarget(r);
}

export async function listFleetTargets(
  db: Kysely<Database>,
  c: string,
  jobId: string,
  o: { states?: readonly string[]; limit?: number; offset?: number } = {},
): Promise<FleetTargetRecord[]> {
  let q = db.selectFrom('fleet_targets').selectAll().where('component_appid', '=', c).where('job_id', '=', jobId);
  if (o.states !== undefined) {
    if (o.states.length === 0) return [];
    q = q.where('state', 'in', [...o.states]);
  }
  q = q.orderBy('appid');
  if (o.limit !== undefined) q = q.limit(o.limit);
  if (o.offset !== undefined) q = q.offset(o.offset);
  return (await q.execute()).map(toTarget);
}

export async function countFleetTargets(db: Kysely<Database>, c: string, jobId: string): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('fleet_targets')
    .select((eb) => ['state', eb.fn.countAll<number | string>().as('n')])
    .where('component_appid', '=', c)
    .where('job_id', '=', jobId)
    .groupBy('state')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}

export async function updateFleetTarget(
  db: Kysely<Database>,
  c: string,
  jobId: string,
  appid: string,
  expectedVersion: number,
  patch: FleetTargetPatch,
): Promise<FleetTargetRecord | undefined> {
  const r = await db
    .updateTable('fleet_targets')
    .set({ ...targetColumns(patch), version: expectedVersion + 1 })
    .where('component_appid', '=', c)
    .where('job_id', '=', jobId)
    .where('appid', '=', appid)
    .where('version', '=', expectedVersion)
    .returningAll()
    .executeTakeFirst();
  return r && toTarget(r);
}

export async function dueFleetTargets(db: Kysely<Database>, c: string, now: number, limit: number): Promise<FleetTargetRecord[]> {
  const rows = await db
    .selectFrom('fleet_targets as t')
    .innerJoin('fleet_jobs as j', (join) => join.onRef('j.component_appid', '=', 't.component_appid').onRef('j.job_id', '=', 't.job_id'))
    .selectAll('t')
    .where('t.component_appid', '=', c)
    .where('j.status', '=', 'running')
    .where('t.next_at', '<=', now)
    .where((eb) => eb.or([eb('t.lease_until', 'is', null), eb('t.lease_until', '<=', now)]))
    .orderBy('t.next_at')
    .limit(limit)
    .execute();
  return rows.map(toTarget);
}

export async function findFleetTargetsByAppid(db: Kysely<Database>, c: string, appid: string, states: readonly string[]): Promise<FleetTargetRecord[]> {
  if (states.length === 0) return [];
  const rows = await db
    .selectFrom('fleet_targets')
    .selectAll()
    .where('component_appid', '=', c)
    .where('appid', '=', appid)
    .where('state', 'in', [...states])
    .execute();
  return rows.map(toTarget);
}

export async function setFleetExtJson(db: Kysely<Database>, c: string, appid: string, extJson: string, at: number): Promise<void> {
  await db
    .insertInto('fleet_ext_json')
    .values({ component_appid: c, appid, ext_json: extJson, updated_at: at })
    .onConflict((oc) => oc.columns(['component_appid', 'appid']).doUpdateSet({ ext_json: extJson, updated_at: at }))
    .execute();
}

export async function getFleetExtJson(db: Kysely<Database>, c: string, appid: string): Promise<string | undefined> {
  const r = await db.selectFrom('fleet_ext_json').select('ext_json').where('component_appid', '=', c).where('appid', '=', appid).executeTakeFirst();
  return r?.ext_json;
}

export async function deleteFleetExtJson(db: Kysely<Database>, c: string, appid: string): Promise<boolean> {
  const r = await db.deleteFrom('fleet_ext_json').where('component_appid', '=', c).where('appid', '=', appid).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function listFleetExtJson(db: Kysely<Database>, c: string): Promise<Array<{ appid: string; extJson: string; updatedAt: number }>> {
  const rows = await db.selectFrom('fleet_ext_json').selectAll().where('component_appid', '=', c).orderBy('appid').execute();
  return rows.map((r) => ({ appid: r.appid, extJson: r.ext_json, updatedAt: Number(r.updated_at) }));
}
