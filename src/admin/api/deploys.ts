import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TARGET_STATES, reportToCsv, type TargetState } from '../../fleet/index.js';
import type { AdminContext, RouteAuth } from '../context.js';
import { deployInput, jobView, progressView, requireFleet, targetView, type DeployBody } from '../deploys.js';
import { AdminForbiddenError, AdminNotFoundError } from './errors.js';
import { authErrors, errorCode, errorSchema, security } from './schemas.js';
import { APPID_PATTERN } from '../../util/appid.js';

const read: RouteAuth = { access: 'bearer', scope: 'deploy:read' };
const write: RouteAuth = { access: 'bearer', scope: 'deploy:write' };

const appid = { type: 'string', pattern: APPID_PATTERN } as const;
const jobParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } } } as const;
const appidsBody = {
  type: 'object',
  additionalProperties: false,
  properties: { appids: { type: 'array', items: appid, maxItems: 10000, description: 'only these merchants (default: every one the action applies to)' } },
} as const;
const nullable = (type: string) => ({ type: [type, 'null'] }) as const;

const jobSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    template_id: { type: 'integer' },
    user_version: { type: 'string' },
    user_desc: { type: 'string' },
    status: { type: 'string', enum: ['running', 'paused', 'done', 'cancelled'] },
    pause: {
      type: ['object', 'null'],
      properties: { code: { type: 'string', enum: ['audit_quota', 'rate_limited', 'api_quota', 'manual'] }, errcode: nullable('integer'), message: { type: 'string' }, at: { type: 'string' } },
    },
    total: { type: 'integer' },
    created_by: nullable('string'),
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    finished_at: { type: ['string', 'null'], format: 'date-time' },
    options: {
      type: 'object',
      properties: { submit_audit: { type: 'boolean' }, release: { type: 'boolean' }, gray_percentage: nullable('integer'), concurrency: { type: 'integer' }, rates: { type: 'string' }, poll_interval_ms: { type: 'integer' } },
    },
  },
} as const;

const countsSchema = { type: 'object', properties: Object.fromEntries(TARGET_STATES.map((s) => [s, { type: 'integer' }])) };

export const progressSchema = {
  type: 'object',
  properties: {
    job: jobSchema,
    total: { type: 'integer' },
    counts: countsSchema,
    settled: { type: 'integer' },
    rate_per_second: { type: 'number', description: 'merchants settled per second since the job started' },
    eta_seconds: nullable('integer'),
    failures: {
      type: 'array',
      description: "first 100 failed or rejected merchants with WeChat's errcode or rejection reason",
      items: { type: 'object', properties: { appid: { type: 'string' }, state: { type: 'string' }, errcode: nullable('integer'), reason: { type: 'string' } } },
    },
  },
} as const;

const targetSchema = {
  type: 'object',
  properties: {
    appid: { type: 'string' },
    state: { type: 'string', enum: [...TARGET_STATES] },
    auditid: nullable('integer'),
    reason: nullable('string'),
    error: { type: ['object', 'null'], properties: { errcode: { type: 'integer' }, errmsg: { type: 'string' }, step: { type: 'string' } } },
    attempts: { type: 'integer' },
    ext_json: { type: 'string', description: 'exactly what is (or was) sent as ext_json' },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const;

const actionResultSchema = {
  type: 'object',
  properties: {
    done: { type: 'array', items: { type: 'string' } },
    skipped: { type: 'array', items: { type: 'string' } },
    failed: { type: 'array', items: { type: 'object', properties: { appid: { type: 'string' }, errcode: { type: 'integer' }, errmsg: { type: 'string' } } } },
  },
} as const;

const extJsonValue = { anyOf: [{ type: 'string' }, { type: 'object', additionalProperties: true }] } as const;

const createBody = {
  type: 'object',
  required: ['template_id', 'user_version', 'targets'],
  additionalProperties: false,
  properties: {
    template_id: { type: 'integer', minimum: 0, description: 'from GET /api/v1/templates' },
    user_version: { type: 'string', minLength: 1, maxLength: 64 },
    user_desc: { type: 'string', maxLength: 1024 },
    targets: {
      type: 'object',
      description: 'exactly one of: all, appids, filter',
      additionalProperties: false,
      minProperties: 1,
      maxProperties: 1,
      properties: {
        all: { type: 'boolean', enum: [true], description: 'every authorized mini program with permission set 18' },
        appids: { type: 'array', items: appid, minItems: 1, maxItems: 100000 },
        filter: {
          type: 'object',
          additionalProperties: false,
          properties: { appid_prefix: { type: 'string' }, principal_name: { type: 'string' }, func_info: { type: 'array', items: { type: 'integer' } } },
        },
      },
    },
    ext_json: {
      type: 'object',
      additionalProperties: false,
      description: "each merchant's ext_json: a file's entries, then by_appid, then the stored ones, then default",
      properties: {
        by_appid: { type: 'object', additionalProperties: extJsonValue },
        file: { type: 'object', required: ['format', 'content'], additionalProperties: false, properties: { format: { type: 'string', enum: ['json', 'csv'] }, content: { type: 'string' } } },
        use_stored: { type: 'boolean', description: 'default true' },
        default: extJsonValue,
        required: { type: 'boolean', description: 'a merchant with no ext_json is an error (default: it gets {})' },
      },
    },
    options: {
      type: 'object',
      additionalProperties: false,
      properties: {
        submit_audit: { type: 'boolean', description: 'default true' },
        audit: { type: 'object', additionalProperties: true, description: 'submit_audit body: item_list, privacy_api_not_use, version_desc…' },
        release: { type: 'boolean', description: 'release when approved; default true' },
        gray_percentage: { type: 'integer', minimum: 1, maximum: 100 },
        concurrency: { type: 'integer', minimum: 1, maximum: 256 },
        rates: { type: 'string', maxLength: 500, description: 'e.g. wxa/commit=20/s,wxa/submit_audit=5/s' },
        poll_interval_ms: { type: 'integer', minimum: 1000 },
      },
    },
  },
} as const;

const validationSchema = {
  type: 'object',
  properties: {
    error: errorCode,
    message: { type: 'string' },
    issues: { type: 'array', items: { type: 'object', properties: { appid: { type: 'string' }, field: { type: 'string' }, problem: { type: 'string' } } } },
  },
} as const;

/** Fleet jobs are the component's: a key narrowed to some authorizers may not see or run them. */
function componentWide(req: FastifyRequest): void {
  if (req.principal!.authorizers !== null) throw new AdminForbiddenError('this key is limited to some authorizers and may not use deploy jobs');
}

/** Deploy jobs (issue 15): create, watch, report, retry, withdraw audits, roll back. */
export async function deployApi(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  const fleet = () => requireFleet(ctx.fleet);
  app.addHook('preHandler', async (req) => componentWide(req));

  app.get<{ Querystring: { status?: 'running' | 'paused' | 'done' | 'cancelled'; limit?: number } }>(
    '/api/v1/deploys',
    {
      config: read,
      schema: {
        tags: ['deploys'],
        summary: 'Deploy jobs, newest first',
        security,
        querystring: { type: 'object', properties: { status: { type: 'string', enum: ['running', 'paused', 'done', 'cancelled'] }, limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } } },
        response: { 200: { type: 'object', properties: { jobs: { type: 'array', items: jobSchema } } }, 501: errorSchema, ...authErrors },
      },
    },
    async (req) => ({ jobs: (await fleet().listJobs({ limit: req.query.limit ?? 50, ...(req.query.status && { status: req.query.status }) })).map(jobView) }),
  );

  app.post<{ Body: DeployBody }>(
    '/api/v1/deploys',
    {
      config: write,
      schema: {
        tags: ['deploys'],
        summary: 'Create a deploy job: template + user_version + targets + per-merchant ext_json + options; everything is validated before anything is sent',
        security,
        body: createBody,
        response: { 201: progressSchema, 400: validationSchema, 501: errorSchema, 502: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      const f = fleet();
      const job = await f.createJob(deployInput(req.body, `api:${req.principal!.keyId}`));
      await ctx.audit(req.principal!, 'deploy.create', job.id, { template_id: job.templateId, user_version: job.userVersion, total: job.total });
      return reply.code(201).send(progressView(await f.progress(job.id)));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/deploys/:id',
    {
      config: read,
      schema: {
        tags: ['deploys'],
        summary: 'A job with counts per state, rate, ETA and the failures with their reasons',
        security,
        params: jobParam,
        response: { 200: progressSchema, 404: errorSchema, 501: errorSchema, ...authErrors },
      },
    },
    async (req) => progressView(await fleet().progress(req.params.id)),
  );

  app.get<{ Params: { id: string }; Querystring: { state?: TargetState; limit?: number; offset?: number } }>(
    '/api/v1/deploys/:id/targets',
    {
      config: read,
      schema: {
        tags: ['deploys'],
        summary: "A job's merchants, optionally in one state",
        security,
        params: jobParam,
        querystring: { type: 'object', properties: { state: { type: 'string', enum: [...TARGET_STATES] }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, offset: { type: 'integer', minimum: 0, default: 0 } } },
        response: { 200: { type: 'object', properties: { targets: { type: 'array', items: targetSchema } } }, 404: errorSchema, 501: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const f = fleet();
      await f.getJob(req.params.id);
      const q = req.query;
      return { targets: (await f.listTargets(req.params.id, { ...(q.state && { state: q.state }), limit: q.limit ?? 100, offset: q.offset ?? 0 })).map(targetView) };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { format?: 'json' | 'csv' } }>(
    '/api/v1/deploys/:id/report',
    {
      config: read,
      schema: {
        tags: ['deploys'],
        summary: 'Every merchant of a job with its final state, audit id, errcode and reason (JSON, or CSV with format=csv)',
        security,
        params: jobParam,
        querystring: { type: 'object', properties: { format: { type: 'string', enum: ['json', 'csv'], default: 'json' } } },
        response: { 200: { type: 'object', properties: { job: jobSchema, targets: { type: 'array', items: targetSchema } } }, 404: errorSchema, 501: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      const f = fleet();
      const [job, targets] = await Promise.all([f.getJob(req.params.id), f.report(req.params.id)]);
      if (req.query.format === 'csv') {
        return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${job.id}.csv"`).send(reportToCsv(targets));
      }
      return { job: jobView(job), targets: targets.map(targetView) };
    },
  );

  const act = (name: 'retry' | 'undo' | 'rollback', summary: string, response: object) =>
    app.post<{ Params: { id: string }; Body: { appids?: string[] } | undefined }>(
      `/api/v1/deploys/:id/${name}`,
      { config: write, schema: { tags: ['deploys'], summary, security, params: jobParam, body: appidsBody, response: { 200: response, 404: errorSchema, 409: errorSchema, 501: errorSchema, ...authErrors } } },
      async (req) => {
        const f = fleet();
        const options = req.body?.appids ? { appids: req.body.appids } : {};
        const result = name === 'retry' ? await f.retry(req.params.id, options) : name === 'undo' ? await f.withdraw(req.params.id, options) : await f.rollback(req.params.id, options);
        await ctx.audit(req.principal!, `deploy.${name}`, req.params.id, options.appids ? { appids: options.appids.length } : undefined);
        return result;
      },
    );
  act('retry', 'Retry failed merchants from the step that failed, and rejected ones from the commit; resumes a paused job', { type: 'object', properties: { retried: { type: 'array', items: { type: 'string' } } } });
  act('undo', 'Withdraw the audits in progress (undocodeaudit; WeChat allows 5 a day and 10 a month per mini program, 87013)', actionResultSchema);
  act('rollback', 'Roll released merchants back to their previous version (revertcoderelease)', actionResultSchema);

  // Each merchant's own ext_json, used by every later job unless a file or by_appid overrides it.
  const extJsonView = (appid: string, json: string, updatedAt?: number) => ({ appid, ext_json: json, ...(updatedAt !== undefined && { updated_at: new Date(updatedAt).toISOString() }) });
  const extJsonSchema = { type: 'object', properties: { appid: { type: 'string' }, ext_json: { type: 'string' }, updated_at: { type: 'string', format: 'date-time' } } } as const;
  const appidParams = { type: 'object', required: ['appid'], properties: { appid } } as const;
  app.get(
    '/api/v1/ext-json',
    { config: read, schema: { tags: ['deploys'], summary: "Every merchant's stored ext_json", security, response: { 200: { type: 'object', properties: { ext_json: { type: 'array', items: extJsonSchema } } }, 501: errorSchema, ...authErrors } } },
    async () => ({ ext_json: (await fleet().listExtJson()).map((e) => extJsonView(e.appid, e.extJson, e.updatedAt)) }),
  );
  app.get<{ Params: { appid: string } }>(
    '/api/v1/authorizers/:appid/ext-json',
    { config: read, schema: { tags: ['deploys'], summary: "A merchant's stored ext_json", security, params: appidParams, response: { 200: extJsonSchema, 404: errorSchema, 501: errorSchema, ...authErrors } } },
    async (req) => {
      const json = await fleet().getExtJson(req.params.appid);
      if (json === undefined) throw new AdminNotFoundError(`no stored ext_json for ${req.params.appid}`);
      return extJsonView(req.params.appid, json);
    },
  );
  app.put<{ Params: { appid: string }; Body: { ext_json: string | Record<string, unknown> } }>(
    '/api/v1/authorizers/:appid/ext-json',
    {
      config: write,
      schema: {
        tags: ['deploys'],
        summary: "Store a merchant's ext_json (a JSON object or its text; checked as a deploy would)",
        security,
        params: appidParams,
        body: { type: 'object', required: ['ext_json'], additionalProperties: false, properties: { ext_json: extJsonValue } },
        response: { 200: extJsonSchema, 400: validationSchema, 501: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const f = fleet();
      await f.setExtJson(req.params.appid, req.body.ext_json);
      await ctx.audit(req.principal!, 'deploy.ext_json.set', req.params.appid);
      return extJsonView(req.params.appid, (await f.getExtJson(req.params.appid))!);
    },
  );
  app.delete<{ Params: { appid: string } }>(
    '/api/v1/authorizers/:appid/ext-json',
    { config: write, schema: { tags: ['deploys'], summary: "Forget a merchant's stored ext_json", security, params: appidParams, response: { 200: { type: 'object', properties: { appid: { type: 'string' }, deleted: { type: 'boolean' } } }, 404: errorSchema, 501: errorSchema, ...authErrors } } },
    async (req) => {
      if (!(await fleet().deleteExtJson(req.params.appid))) throw new AdminNotFoundError(`no stored ext_json for ${req.params.appid}`);
      await ctx.audit(req.principal!, 'deploy.ext_json.delete', req.params.appid);
      return { appid: req.params.appid, deleted: true };
    },
  );

  for (const name of ['pause', 'resume', 'cancel'] as const) {
    app.post<{ Params: { id: string } }>(
      `/api/v1/deploys/:id/${name}`,
      {
        config: write,
        schema: {
          tags: ['deploys'],
          summary: name === 'cancel' ? 'Cancel a job: merchants not started are not started' : `${name[0]!.toUpperCase()}${name.slice(1)} a job`,
          security,
          params: jobParam,
          response: { 200: jobSchema, 404: errorSchema, 409: errorSchema, 501: errorSchema, ...authErrors },
        },
      },
      async (req) => {
        const f = fleet();
        await f[name](req.params.id);
        await ctx.audit(req.principal!, `deploy.${name}`, req.params.id);
        return jobView(await f.getJob(req.params.id));
      },
    );
  }
}
