import { errcodeInfo } from '../../api/errors.js';
import type { FleetJob, FleetProgress, FleetTarget } from '../../fleet/index.js';
import { fleetMessages, type FleetMessages } from '../../i18n/fleet.js';
import { ago, messages, type Lang } from '../../i18n/index.js';
import { esc, shell } from '../../server/pages/layout.js';
import { formatDuration, STATE_ORDER } from '../progress.js';
import type { TemplateView } from '../templates.js';

const STATE_CLASS: Record<string, string> = { released: 'ok', approved: 'ok', rejected: 'bad', failed: 'bad', delayed: 'warn', withdrawn: 'muted', reverted: 'muted' };
const JOB_CLASS: Record<string, string> = { running: 'ok', paused: 'warn', done: 'muted', cancelled: 'muted' };

/** Colours of the stacked progress bar, one per state. */
const STATE_COLOUR: Record<string, string> = {
  pending: '#d0d3d9',
  committed: '#9ec5fe',
  audit_submitted: '#6ea8fe',
  delayed: '#f0ad4e',
  approved: '#75d69c',
  released: '#07c160',
  rejected: '#fa5151',
  failed: '#c62828',
  withdrawn: '#a0a4ab',
  reverted: '#6b7280',
};

const PAGE_CSS = `<style>.bar{display:flex;height:18px;border-radius:9px;overflow:hidden;background:#eef0f3;margin:8px 0}.bar span{display:block;height:100%}
.states{display:grid;grid-template-columns:repeat(auto-fit,minmax(120px,1fr));gap:8px;margin:10px 0}.states .card{padding:8px 10px}.states .n{font-size:22px;font-weight:600}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}.actions{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start}.actions details{background:#fff;border-radius:8px;padding:6px 10px}
textarea{font:13px/1.4 ui-monospace,Menlo,monospace;width:100%;min-height:90px;padding:8px;border:1px solid #d0d3d9;border-radius:8px}label.block{display:block;margin:10px 0}</style>`;

function stateLabel(f: FleetMessages, s: string): string {
  return f.state[s] ?? s;
}

/** WeChat's rejection reasons carry `<br>` line breaks; everything else in them is text. */
function reasonHtml(reason: string): string {
  return esc(reason).replace(/&lt;br\s*\/?&gt;/gi, '<br>');
}

/** A failed merchant: what the errcode means (spec 8's table, in the page's language), then WeChat's errmsg. */
function errorHtml(lang: Lang, errcode: number, errmsg: string): string {
  const info = errcodeInfo(errcode);
  const meaning = lang === 'en' ? info.en : info.zh;
  const msg = errmsg.replace(new RegExp(`^${errcode}\\s+`), '');
  return `${info.class === 'unknown' ? '' : `${esc(meaning)}<br>`}<span class="muted">${esc(msg)}</span>`;
}

function pct(settled: number, total: number): number {
  return total === 0 ? 100 : Math.floor((settled / total) * 100);
}

export function deployListPage(i: { lang: Lang; nav: string; now: number; jobs: FleetProgress[]; notice?: string; error?: string }): string {
  const f = fleetMessages(i.lang);
  const m = messages(i.lang);
  const rows = i.jobs
    .map((p) => {
      const j = p.job;
      return `<tr data-job="${esc(j.id)}"><td><a href="/deploys/${esc(j.id)}"><code>${esc(j.id)}</code></a></td><td>${j.templateId} · ${esc(j.userVersion)}<br><span class="muted">${esc(j.userDesc)}</span></td>
<td class="${JOB_CLASS[j.status] ?? ''}">${esc(f.jobStatus[j.status] ?? j.status)}</td><td>${esc(f.settledOf(p.settled, p.total, pct(p.settled, p.total)))}${p.counts.failed + p.counts.rejected > 0 ? `<br><span class="bad">${esc(stateLabel(f, 'failed'))} ${p.counts.failed} · ${esc(stateLabel(f, 'rejected'))} ${p.counts.rejected}</span>` : ''}</td><td>${esc(ago(m, j.createdAt, i.now))}</td></tr>`;
    })
    .join('');
  return shell(
    i.lang,
    `${f.deploysTitle} · wxopen`,
    `${PAGE_CSS}<h1>${esc(f.deploysTitle)}</h1>${i.notice ? `<p class="notice">${esc(i.notice)}</p>` : ''}${i.error ? `<p class="alert">${esc(m.actionFailed)}${esc(i.error)}</p>` : ''}
<p class="muted">${esc(f.deploysIntro)}</p><p><a class="button" href="/deploys/new">${esc(f.newDeploy)}</a></p>
${rows ? `<table id="jobs"><tr><th>${esc(f.colJob)}</th><th>${esc(f.template)} · ${esc(f.version)}</th><th>${esc(f.colStatus)}</th><th>${esc(f.colProgress)}</th><th>${esc(f.createdAt)}</th></tr>${rows}</table>` : `<p class="muted">${esc(f.noDeploys)}</p>`}`,
    { nav: i.nav },
  );
}

export interface JobPageInput {
  lang: Lang;
  nav: string;
  now: number;
  csrf: string;
  progress: FleetProgress;
  targets: FleetTarget[];
  stateFilter: string | undefined;
  names: ReadonlyMap<string, string>;
  notice?: string;
  error?: string;
}

export function jobPage(i: JobPageInput): string {
  const f = fleetMessages(i.lang);
  const m = messages(i.lang);
  const p = i.progress;
  const j: FleetJob = p.job;
  const csrf = `<input type="hidden" name="csrf" value="${esc(i.csrf)}">`;
  const percent = pct(p.settled, p.total);
  const name = (appid: string) => (i.names.get(appid) ? `${esc(i.names.get(appid)!)}<br><code>${esc(appid)}</code>` : `<code>${esc(appid)}</code>`);
  const present = STATE_ORDER.filter((s) => (p.counts[s] ?? 0) > 0);
  const bar = `<div class="bar" id="job-bar" role="progressbar" aria-valuenow="${percent}" aria-valuemin="0" aria-valuemax="100">${present
    .map((s) => `<span style="width:${((p.counts[s] / Math.max(p.total, 1)) * 100).toFixed(2)}%;background:${STATE_COLOUR[s]}" title="${esc(stateLabel(f, s))} ${p.counts[s]}"></span>`)
    .join('')}</div>`;
  const cards = STATE_ORDER.map(
    (s) => `<div class="card" data-state="${s}"><div class="label"><span class="swatch" style="background:${STATE_COLOUR[s]}"></span>${esc(stateLabel(f, s))}</div><div class="n ${p.counts[s] ? (STATE_CLASS[s] ?? '') : 'muted'}">${p.counts[s] ?? 0}</div></div>`,
  ).join('');
  const rate = p.ratePerSecond > 0 ? f.rate(p.ratePerSecond >= 10 ? p.ratePerSecond.toFixed(0) : p.ratePerSecond.toFixed(2)) : '';
  const eta = p.etaMs !== null ? f.eta(formatDuration(p.etaMs)) : '';
  const failures = p.failures
    .map((x) => `<tr data-appid="${esc(x.appid)}"><td>${name(x.appid)}</td><td class="bad">${esc(stateLabel(f, x.state))}</td><td>${x.errcode ?? ''}</td><td>${x.state === 'failed' && x.errcode !== null ? errorHtml(i.lang, x.errcode, x.reason) : reasonHtml(x.reason)}</td></tr>`)
    .join('');
  const rows = i.targets
    .map(
      (t) =>
        `<tr data-appid="${esc(t.appid)}"><td>${name(t.appid)}</td><td class="${STATE_CLASS[t.state] ?? ''}">${esc(stateLabel(f, t.state))}</td><td>${t.auditid ?? ''}</td><td>${t.error ? `${t.error.errcode} ${errorHtml(i.lang, t.error.errcode, t.error.errmsg)}` : ''}${t.reason ? `${t.error ? '<br>' : ''}${reasonHtml(t.reason)}` : ''}</td><td>${esc(ago(m, t.updatedAt, i.now))}</td></tr>`,
    )
    .join('');
  const filterLinks = [`<a href="/deploys/${esc(j.id)}"${i.stateFilter ? '' : ' class="tag"'}>${esc(f.allStates)}</a>`]
    .concat(present.map((s) => `<a href="/deploys/${esc(j.id)}?state=${s}"${i.stateFilter === s ? ' class="tag"' : ''}>${esc(stateLabel(f, s))} ${p.counts[s]}</a>`))
    .join(' · ');
  const post = (action: string, label: string, cls = '') => `<form method="post" action="/deploys/${esc(j.id)}/${action}">${csrf}<button type="submit"${cls ? ` class="${cls}"` : ''}>${esc(label)}</button></form>`;
  const confirm = (action: string, label: string, help: string) =>
    `<details><summary>${esc(label)}</summary><p class="muted">${esc(help)}</p><form method="post" action="/deploys/${esc(j.id)}/${action}">${csrf}<button type="submit" class="danger">${esc(f.confirm)}</button></form></details>`;
  const canRetry = p.counts.failed + p.counts.rejected > 0;
  const auditing = p.counts.audit_submitted + p.counts.delayed > 0;
  const actions = [
    canRetry ? post('retry', f.retry) : '',
    j.status === 'running' ? post('pause', f.pause, 'secondary') : '',
    j.status === 'paused' ? post('resume', f.resume) : '',
    j.status === 'running' || j.status === 'paused' ? post('cancel', f.cancel, 'secondary') : '',
    auditing ? confirm('undo', f.undo, f.undoHelp) : '',
    p.counts.released > 0 ? confirm('rollback', f.rollback, f.rollbackHelp) : '',
  ].join('');
  const body = `${PAGE_CSS}<h1 id="job-title">${esc(f.jobTitle(j.id))}</h1>${i.notice ? `<p class="notice" id="job-notice">${esc(i.notice)}</p>` : ''}${i.error ? `<p class="alert" id="job-error">${esc(m.actionFailed)}${esc(i.error)}</p>` : ''}
${j.status === 'paused' && j.pause ? `<p class="alert" id="job-paused">${esc(f.pausedBecause(j.pause.message))}</p>` : ''}
<p><span class="${JOB_CLASS[j.status] ?? ''}" id="job-status">${esc(f.jobStatus[j.status] ?? j.status)}</span> · ${esc(f.template)} <b>${j.templateId}</b> · ${esc(f.version)} <b>${esc(j.userVersion)}</b>${j.userDesc ? ` · ${esc(j.userDesc)}` : ''} · <span class="muted">${esc(f.createdAt)} ${esc(ago(m, j.createdAt, i.now))}${j.createdBy ? ` · ${esc(f.createdBy)} ${esc(j.createdBy)}` : ''}</span></p>
${bar}<p id="job-progress"><b>${esc(f.settledOf(p.settled, p.total, percent))}</b>${rate ? ` · ${esc(rate)}` : ''}${eta ? ` · ${esc(eta)}` : ''}</p>
<div class="states" id="job-counts">${cards}</div>
<div class="actions" id="job-actions">${actions}<a class="button secondary" href="/deploys/${esc(j.id)}/report.csv">${esc(f.reportCsv)}</a><a class="button secondary" href="/deploys/${esc(j.id)}/report.json">${esc(f.reportJson)}</a></div>
<h2>${esc(f.failures)}</h2>${failures ? `<table id="job-failures"><tr><th>${esc(f.colAppid)}</th><th>${esc(f.colState)}</th><th>${esc(f.colErrcode)}</th><th>${esc(f.colReason)}</th></tr>${failures}</table>` : `<p class="muted">${esc(f.noFailures)}</p>`}
<h2>${esc(f.targets)}</h2><p>${filterLinks}</p>
<table id="job-targets"><tr><th>${esc(f.colAppid)}</th><th>${esc(f.colState)}</th><th>${esc(f.colAuditid)}</th><th>${esc(f.colReason)}</th><th>${esc(f.colUpdated)}</th></tr>${rows}</table>
<p><a href="/deploys">${esc(m.back)}</a></p>`;
  // A running job refreshes itself; a settled one stays still.
  const head = j.status === 'running' ? '<meta http-equiv="refresh" content="5">' : '';
  return shell(i.lang, `${f.jobTitle(j.id)} · wxopen`, body, { nav: i.nav, head });
}

export interface NewDeployInput {
  lang: Lang;
  nav: string;
  csrf: string;
  templates: TemplateView[];
  form: Record<string, string | undefined>;
  issues?: Array<{ appid?: string; field: string; problem: string }>;
  error?: string;
}

export function newDeployPage(i: NewDeployInput): string {
  const f = fleetMessages(i.lang);
  const m = messages(i.lang);
  const v = (k: string, d = '') => esc(i.form[k] ?? d);
  const checked = (k: string, dflt: boolean) => ((i.form.submitted ? i.form[k] === 'on' : dflt) ? ' checked' : '');
  const options = i.templates.map((t) => `<option value="${t.template_id}"${String(t.template_id) === i.form.template_id ? ' selected' : ''}>${t.template_id} · ${esc(t.user_version)} · ${esc(t.user_desc)}</option>`).join('');
  const issues = i.issues?.length
    ? `<div class="alert" id="deploy-issues"><p>${esc(f.validationFailed)}</p><ul>${i.issues.map((x) => `<li>${x.appid ? `<code>${esc(x.appid)}</code> ` : ''}<b>${esc(x.field)}</b>: ${esc(x.problem)}</li>`).join('')}</ul></div>`
    : '';
  const listMode = i.form.targets === 'list';
  return shell(
    i.lang,
    `${f.newDeploy} · wxopen`,
    `${PAGE_CSS}<h1>${esc(f.newDeploy)}</h1>${issues}${i.error ? `<p class="alert">${esc(m.actionFailed)}${esc(i.error)}</p>` : ''}
${options ? '' : `<p class="alert">${esc(f.noTemplatesYet)} <a href="/templates">${esc(f.navTemplates)}</a></p>`}
<form method="post" action="/deploys" class="panel" id="new-deploy">${`<input type="hidden" name="csrf" value="${esc(i.csrf)}">`}
<label class="block">${esc(f.template)}<br><select name="template_id" required>${options}</select></label>
<label class="block">${esc(f.version)}<br><input name="user_version" required maxlength="64" value="${v('user_version')}"></label>
<label class="block">${esc(f.desc)}<br><input name="user_desc" maxlength="1024" style="width:100%" value="${v('user_desc')}"></label>
<fieldset><legend>${esc(f.targetsLabel)}</legend><label><input type="radio" name="targets" value="all"${listMode ? '' : ' checked'}> ${esc(f.targetsAll)}</label><br>
<label><input type="radio" name="targets" value="list"${listMode ? ' checked' : ''}> ${esc(f.targetsList)}</label><textarea name="appids">${v('appids')}</textarea></fieldset>
<label class="block">${esc(f.extJsonLabel)}<textarea name="ext_json">${v('ext_json')}</textarea></label>
<label class="block">${esc(f.extJsonDefault)}<textarea name="ext_json_default">${v('ext_json_default')}</textarea></label>
<fieldset><legend>${esc(f.options)}</legend><label><input type="checkbox" name="submit_audit"${checked('submit_audit', true)}> ${esc(f.optAudit)}</label>
<label><input type="checkbox" name="release"${checked('release', true)}> ${esc(f.optRelease)}</label><br>
<label>${esc(f.optGray)} <input name="gray_percentage" type="number" min="1" max="100" value="${v('gray_percentage')}"></label>
<label>${esc(f.optConcurrency)} <input name="concurrency" type="number" min="1" max="256" value="${v('concurrency', '8')}"></label><br>
<label>${esc(f.optRates)} <input name="rates" value="${v('rates')}"></label></fieldset>
<input type="hidden" name="submitted" value="1"><p><button type="submit"${options ? '' : ' disabled'}>${esc(f.create)}</button></p></form>`,
    { nav: i.nav },
  );
}
