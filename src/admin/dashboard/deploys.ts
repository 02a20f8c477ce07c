import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FleetValidationError, TARGET_STATES, reportToCsv, type TargetState } from '../../fleet/index.js';
import { fleetMessages } from '../../i18n/fleet.js';
import { messages } from '../../i18n/index.js';
import type { AdminContext } from '../context.js';
import { deployInput, jobView, requireFleet, targetView, type DeployBody } from '../deploys.js';
import { TemplateLibrary, type TemplateView } from '../templates.js';
import { accountName, allAuthorizers } from '../views.js';
import { deployListPage, jobPage, newDeployPage } from './deploy-pages.js';
import { csrfOk, csrfRefused, errorParam, intId, operatorPrincipal, sendPage, type Form } from './forms.js';
import { dashLang } from './lang.js';
import { messagePage, nav } from './pages.js';

const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The dashboard form → the API's body (the same validation then runs in the engine). */
function bodyFromForm(form: Form): DeployBody {
  const json = (text: string | undefined, field: string): Record<string, unknown> | undefined => {
    if (!text?.trim()) return undefined;
    try {
      const v = JSON.parse(text) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // reported below
    }
    throw new FleetValidationError([{ field, problem: 'must be a JSON object' }]);
  };
  const appids = (form.appids ?? '').split(/[\s,;]+/).filter(Boolean);
  const byAppid = json(form.ext_json, 'ext_json') as Record<string, string | Record<string, unknown>> | undefined;
  const dflt = json(form.ext_json_default, 'ext_json_default');
  const gray = intId(form.gray_percentage);
  const concurrency = intId(form.concurrency);
  return {
    template_id: intId(form.template_id) ?? -1,
    user_version: (form.user_version ?? '').trim(),
    ...(form.user_desc?.trim() && { user_desc: form.user_desc.trim() }),
    targets: form.targets === 'list' ? { appids } : { all: true },
    ext_json: { ...(byAppid && { by_appid: byAppid }), ...(dflt && { default: dflt }) },
    options: {
      submit_audit: form.submit_audit === 'on',
      release: form.release === 'on' && form.submit_audit === 'on',
      ...(gray !== undefined && { gray_percentage: gray }),
      ...(concurrency !== undefined && { concurrency }),
      ...(form.rates?.trim() && { rates: form.rates.trim() }),
    },
  };
}

/** The dashboard's deploy pages: the job list, a form to start one, and the job page with its actions. */
export async function deployPages(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  const library = new TemplateLibrary(ctx.platform);
  const sandbox = ctx.sandboxAdmin !== undefined;
  const hide = { hide: true };
  const navFor = (req: FastifyRequest) => nav(dashLang(req), req.session?.csrf, sandbox);
  const unavailable = (req: FastifyRequest) => messagePage(dashLang(req), fleetMessages(dashLang(req)).deploysTitle, fleetMessages(dashLang(req)).fleetUnavailable);

  app.get('/deploys', { config: { access: 'session' }, schema: hide }, async (req, reply) => {
    if (!ctx.fleet) return sendPage(reply, unavailable(req), 501);
    const fleet = ctx.fleet;
    const jobs = await fleet.listJobs({ limit: 100 });
    const progress = await Promise.all(jobs.map((j) => fleet.progress(j.id)));
    return sendPage(reply, deployListPage({ lang: dashLang(req), nav: navFor(req), now: ctx.clock.now(), jobs: progress, error: (req.query as Form).error }));
  });

  const showNew = async (req: FastifyRequest, form: Form, extra: { issues?: Array<{ appid?: string; field: string; problem: string }>; error?: string } = {}) => {
    let templates: TemplateView[] = [];
    let error = extra.error;
    try {
      templates = (await library.templates()).templates;
    } catch (err) {
      error = (err as Error).message.replace(/^\[wxopen\] /, '');
    }
    return newDeployPage({ lang: dashLang(req), nav: navFor(req), csrf: req.session!.csrf, templates, form, ...extra, error });
  };

  app.get('/deploys/new', { config: { access: 'session' }, schema: hide }, async (req, reply) => {
    if (!ctx.fleet) return sendPage(reply, unavailable(req), 501);
    return sendPage(reply, await showNew(req, { template_id: (req.query as Form).template_id }));
  });

  app.post('/deploys', { config: { access: 'session' }, schema: hide }, async (req, reply) => {
    if (!csrfOk(req)) return csrfRefused(req, reply);
    if (!ctx.fleet) return sendPage(reply, unavailable(req), 501);
    const form = (req.body ?? {}) as Form;
    try {
      const job = await ctx.fleet.createJob(deployInput(bodyFromForm(form), 'dashboard'));
      await ctx.audit(operatorPrincipal, 'deploy.create', job.id, { template_id: job.templateId, user_version: job.userVersion, total: job.total });
      return reply.redirect(`/deploys/${encodeURIComponent(job.id)}`, 303);
    } catch (err) {
      if (err instanceof FleetValidationError) return sendPage(reply, await showNew(req, form, { issues: [...err.issues] }), 400);
      return sendPage(reply, await showNew(req, form, { error: (err as Error).message.replace(/^\[wxopen\] /, '') }), 502);
    }
  });

  app.get<{ Params: { id: string } }>('/deploys/:id', { config: { access: 'session' }, schema: hide }, async (req, reply) => {
    const lang = dashLang(req);
    if (!ctx.fleet) return sendPage(reply, unavailable(req), 501);
    const fleet = ctx.fleet;
    const id = req.params.id;
    if (!JOB_ID.test(id)) return sendPage(reply, messagePage(lang, '404', id), 404);
    const q = req.query as Form;
    const state = (TARGET_STATES as readonly string[]).includes(q.state ?? '') ? (q.state as TargetState) : undefined;
    let progress;
    try {
      progress = await fleet.progress(id);
    } catch {
      return sendPage(reply, messagePage(lang, '404', id), 404);
    }
    const [targets, authorizers] = await Promise.all([fleet.listTargets(id, { ...(state && { state }), limit: 500 }), allAuthorizers(ctx.store, ctx.config.componentAppid)]);
    const names = new Map(authorizers.map((a) => [a.authorizerAppid, accountName(a) ?? '']));
    const f = fleetMessages(lang);
    const done = q.done;
    const notice =
      done === 'retry' ? f.retried(Number(q.n ?? 0)) : done === 'undo' || done === 'rollback' ? f.actionResult(Number(q.ok ?? 0), Number(q.skipped ?? 0), Number(q.failed ?? 0)) : done ? messages(lang).sandboxDone : undefined;
    return sendPage(reply, jobPage({ lang, nav: navFor(req), now: ctx.clock.now(), csrf: req.session!.csrf, progress, targets, stateFilter: state, names, notice, error: q.error }));
  });

  app.get<{ Params: { id: string; format: string } }>('/deploys/:id/report.:format', { config: { access: 'session' }, schema: hide }, async (req, reply) => {
    const fleet = requireFleet(ctx.fleet);
    const { id, format } = req.params;
    if (!JOB_ID.test(id) || (format !== 'csv' && format !== 'json')) return reply.code(404).send({ error: 'WXO_ERR_NOT_FOUND' });
    const [job, targets] = await Promise.all([fleet.getJob(id), fleet.report(id)]);
    reply.header('content-disposition', `attachment; filename="${job.id}.${format}"`);
    if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(reportToCsv(targets));
    return reply.type('application/json; charset=utf-8').send(JSON.stringify({ job: jobView(job), targets: targets.map(targetView) }));
  });

  app.post<{ Params: { id: string; action: string } }>('/deploys/:id/:action', { config: { access: 'session' }, schema: hide }, async (req, reply) => {
    if (!csrfOk(req)) return csrfRefused(req, reply);
    const fleet = requireFleet(ctx.fleet);
    const { id, action } = req.params;
    if (!JOB_ID.test(id)) return reply.code(404).send({ error: 'WXO_ERR_NOT_FOUND' });
    const back = `/deploys/${encodeURIComponent(id)}`;
    try {
      let query: string;
      switch (action) {
        case 'retry': {
          const r = await fleet.retry(id);
          query = `done=retry&n=${r.retried.length}`;
          break;
        }
        case 'undo':
        case 'rollback': {
          const r = action === 'undo' ? await fleet.withdraw(id) : await fleet.rollback(id);
          query = `done=${action}&ok=${r.done.length}&skipped=${r.skipped.length}&failed=${r.failed.length}`;
          if (r.failed.length) query += `&error=${errorParam(r.failed.slice(0, 3).map((x) => `${x.appid} ${x.errcode} ${x.errmsg}`).join('; '))}`;
          break;
        }
        case 'pause':
        case 'resume':
        case 'cancel':
          await fleet[action](id);
          query = `done=${action}`;
          break;
        default:
          return reply.code(404).send({ error: 'WXO_ERR_NOT_FOUND' });
      }
      await ctx.audit(operatorPrincipal, `deploy.${action}`, id);
      return reply.redirect(`${back}?${query}`, 303);
    } catch (err) {
      return reply.redirect(`${back}?error=${errorParam(err)}`, 303);
    }
  });
}
