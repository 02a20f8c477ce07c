import { messages, permissionName, type Lang } from '../../i18n/index.js';
import type { AuthorizerRecord } from '../../store/types.js';
import { esc, shell } from './layout.js';

export interface CallbackPageInput {
  lang: Lang;
  record: AuthorizerRecord;
  /** Permission sets the operator needs (the link's, else the configured ones). */
  required: number[];
  /** Where to go on, with our parameters already placed before any fragment. */
  continueUrl?: string;
  /** Back to the same authorization (same link), to grant what is missing. */
  againHref: string;
}

/** Missing = required and not granted, in the operator's order. */
export function missingSets(required: readonly number[], granted: readonly number[]): number[] {
  const g = new Set(granted);
  return required.filter((id) => !g.has(id));
}

export function callbackPage(i: CallbackPageInput): string {
  const m = messages(i.lang);
  const info = i.record.info ?? {};
  const name = typeof info.nick_name === 'string' && info.nick_name !== '' ? info.nick_name : i.record.authorizerAppid;
  const avatar = typeof info.head_img === 'string' && /^https?:\/\//.test(info.head_img) ? info.head_img : undefined;
  const kind = 'MiniProgramInfo' in info ? m.accountKind.miniprogram : m.accountKind.official;
  const granted = i.record.funcInfo.length
    ? i.record.funcInfo.map((id) => `<span class="tag" data-id="${id}">${esc(permissionName(id, i.lang))}</span>`).join('')
    : `<span class="muted">${esc(m.noneGranted)}</span>`;
  const missing = missingSets(i.required, i.record.funcInfo);
  const missingBlock = i.required.length
    ? missing.length
      ? `<h2>${esc(m.missingTitle)}</h2><p>${esc(m.missingHelp)}</p><p id="missing">${missing.map((id) => `<span class="tag missing" data-id="${id}">${esc(permissionName(id, i.lang))}</span>`).join('')}</p>
<p><a class="button secondary" href="${esc(i.againHref)}">${esc(m.reauthorize)}</a></p>`
      : `<p class="ok">${esc(m.allGranted)}</p>`
    : '';
  return shell(
    i.lang,
    m.authorizedTitle,
    `<div class="panel"><h1>${esc(m.authorizedTitle)}</h1>
<div class="account">${avatar ? `<img class="avatar" src="${esc(avatar)}" alt="" referrerpolicy="no-referrer" onerror="this.style.visibility='hidden'">` : '<div class="avatar"></div>'}
<div><div id="account-name"><strong>${esc(name)}</strong></div><div class="muted">${esc(kind)} · <code>${esc(i.record.authorizerAppid)}</code></div></div></div>
<p>${esc(m.authorizedLead(name))}</p>
<h2>${esc(m.grantedSets)}</h2><p id="granted">${granted}</p>${missingBlock}
${i.continueUrl ? `<p><a class="button" id="continue" href="${esc(i.continueUrl)}">${esc(m.continue)}</a></p>` : ''}</div>`,
    { narrow: true },
  );
}
