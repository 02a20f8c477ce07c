import type { FastifyInstance } from 'fastify';
import { fleetMessages } from '../../i18n/fleet.js';
import { messages, type Lang } from '../../i18n/index.js';
import { esc, shell } from '../../server/pages/layout.js';
import type { AdminContext } from '../context.js';
import { TemplateLibrary, type DraftView, type TemplateLibraryView } from '../templates.js';
import { csrfOk, csrfRefused, errorParam, intId, operatorPrincipal, sendPage, type Form } from './forms.js';
import { dashLang } from './lang.js';
import { nav } from './pages.js';

export interface TemplatesPageInput {
  lang: Lang;
  nav: string;
  csrf: string;
  drafts: DraftView[];
  library: TemplateLibraryView | undefined;
  notice?: string;
  error?: string;
}

const day = (iso: string) => iso.slice(0, 16).replace('T', ' ');

export function templatesPage(i: TemplatesPageInput): string {
  const m = messages(i.lang);
  const f = fleetMessages(i.lang);
  const csrf = `<input type="hidden" name="csrf" value="${esc(i.csrf)}">`;
  const lib = i.library;
  const full = lib !== undefined && lib.count >= lib.limit;
  const left = lib === undefined ? 0 : lib.limit - lib.count;
  const drafts = i.drafts
    .map(
      (d) => `<tr data-draft="${d.draft_id}"><td>${d.draft_id}</td><td><b>${esc(d.user_version)}</b><br><span class="muted">${esc(d.user_desc)}</span></td>
<td>${esc(d.source_miniprogram ?? '–')}${d.source_miniprogram_appid ? `<br><code>${esc(d.source_miniprogram_appid)}</code>` : ''}</td><td>${esc(d.developer ?? '–')}</td><td>${esc(day(d.create_time))}</td>
<td>${d.template_ids.length ? `<div class="ok">${esc(f.inLibrary(d.template_ids.join(', ')))}</div>` : ''}<form method="post" action="/templates" class="inline">${csrf}<input type="hidden" name="draft_id" value="${d.draft_id}">
<select name="template_type" aria-label="${esc(f.colType)}"><option value="0">${esc(f.typeNormal)}</option><option value="1">${esc(f.typeStandard)}</option></select><button type="submit"${full ? ' disabled' : ''}>${esc(f.addToLibrary)}</button></form></td></tr>`,
    )
    .join('');
  const templates = (lib?.templates ?? [])
    .map(
      (t) => `<tr data-template="${t.template_id}"><td><b>${t.template_id}</b></td><td><b>${esc(t.user_version)}</b><br><span class="muted">${esc(t.user_desc)}</span></td>
<td>${esc(t.template_type === 1 ? f.typeStandard : f.typeNormal)}</td><td>${t.draft_id ?? '–'}</td><td>${esc(day(t.create_time))}</td>
<td><a class="button secondary" href="/deploys/new?template_id=${t.template_id}">${esc(f.deployThis)}</a>
<details><summary>${esc(f.deleteTemplate)}</summary><form method="post" action="/templates/${t.template_id}/delete" class="inline">${csrf}<button type="submit" class="danger">${esc(f.deleteConfirm)} ${t.template_id}</button></form></details></td></tr>`,
    )
    .join('');
  const usage = lib
    ? `<p id="library-usage" class="${full ? 'bad' : left <= 10 ? 'warn' : 'muted'}">${esc(f.libraryUsage(lib.count, lib.limit))}</p>${full ? `<p class="alert" id="library-full">${esc(f.libraryFull(lib.limit))}</p>` : left <= 10 ? `<p class="alert">${esc(f.libraryNearlyFull(left))}</p>` : ''}`
    : '';
  return shell(
    i.lang,
    `${f.templatesTitle} · wxopen`,
    `<h1>${esc(f.templatesTitle)}</h1>${i.notice ? `<p class="notice" id="templates-notice">${esc(i.notice)}</p>` : ''}${i.error ? `<p class="alert" id="templates-error">${esc(m.actionFailed)}${esc(i.error)}</p>` : ''}
<p class="muted">${esc(f.templatesIntro)}</p>${usage}
<h2>${esc(f.drafts)}</h2>${drafts ? `<table id="drafts"><tr><th>${esc(f.colDraft)}</th><th>${esc(f.colVersion)}</th><th>${esc(f.colSource)}</th><th>${esc(f.colDeveloper)}</th><th>${esc(f.colCreated)}</th><th>${esc(f.colActions)}</th></tr>${drafts}</table>` : `<p class="muted">${esc(f.noDrafts)}</p>`}
<h2>${esc(f.templates)}</h2>${templates ? `<table id="templates"><tr><th>${esc(f.colTemplate)}</th><th>${esc(f.colVersion)}</th><th>${esc(f.colType)}</th><th>${esc(f.colDraft)}</th><th>${esc(f.colCreated)}</th><th>${esc(f.colActions)}</th></tr>${templates}</table>` : `<p class="muted">${esc(f.noTemplates)}</p>`}`,
    { nav: i.nav },
  );
}

/** The dashboard's template library page: drafts with "add", templates with "delete" (CSRF-protected forms). */
export async function templatePages(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  const library = new TemplateLibrary(ctx.platform);
  const sandbox = ctx.sandboxAdmin !== undefined;
  const hide = { hide: true };

  app.get('/templates', { config: { access: 'session' }, schema: hide }, async (req, reply) => {
    const lang = dashLang(req);
    const f = fleetMessages(lang);
    const q = req.query as Form;
    let error = q.error;
    let drafts: DraftView[] = [];
    let lib: TemplateLibraryView | undefined;
    try {
      [drafts, lib] = await Promise.all([library.drafts(), library.templates()]);
    } catch (err) {
      error = `${f.wechatUnavailable}${(err as Error).message.replace(/^\[wxopen\] /, '')}`;
    }
    const added = intId(q.added);
    const deleted = intId(q.deleted);
    return sendPage(
      reply,
      templatesPage({
        lang,
        nav: nav(lang, req.session?.csrf, sandbox),
        csrf: req.session!.csrf,
        drafts,
        library: lib,
        notice: added !== undefined ? f.added(added) : deleted !== undefined ? f.deleted(deleted) : undefined,
        error,
      }),
    );
  });

  app.post('/templates', { config: { access: 'session' }, schema: hide }, async (req, reply) => {
    if (!csrfOk(req)) return csrfRefused(req, reply);
    const form = (req.body ?? {}) as Form;
    const draftId = intId(form.draft_id);
    if (draftId === undefined) return reply.redirect(`/templates?error=${errorParam('draft_id must be a number')}`, 303);
    try {
      const t = await library.add(draftId, form.template_type === '1' ? 1 : 0);
      await ctx.audit(operatorPrincipal, 'template.add', String(t.template_id), { draft_id: draftId });
      return reply.redirect(`/templates?added=${t.template_id}`, 303);
    } catch (err) {
      return reply.redirect(`/templates?error=${errorParam(err)}`, 303);
    }
  });

  app.post<{ Params: { id: string } }>('/templates/:id/delete', { config: { access: 'session' }, schema: hide }, async (req, reply) => {
    if (!csrfOk(req)) return csrfRefused(req, reply);
    const id = intId(req.params.id);
    if (id === undefined) return reply.redirect(`/templates?error=${errorParam('not a template id')}`, 303);
    try {
      await library.delete(id);
      await ctx.audit(operatorPrincipal, 'template.delete', String(id));
      return reply.redirect(`/templates?deleted=${id}`, 303);
    } catch (err) {
      return reply.redirect(`/templates?error=${errorParam(err)}`, 303);
    }
  });
}
