import type { LinkParams } from '../../authorize/link.js';
import { messages, permissionName, type Lang } from '../../i18n/index.js';
import { esc, shell } from './layout.js';

export interface AuthorizePageInput {
  lang: Lang;
  platformName: string;
  /** The operator's link (signed token and its parameters), when the merchant came through one. */
  link?: { token: string; params: LinkParams };
}

function askedFor(lang: Lang, p: Pick<LinkParams, 'authType' | 'bizAppid'>): string {
  const m = messages(lang);
  if (p.bizAppid) return m.bizAppid(p.bizAppid);
  const t = p.authType ?? 3;
  return m.authType[t] ?? m.authTypeOther(t);
}

function buttons(lang: Lang, query: string): string {
  const m = messages(lang);
  return `<p><a class="button" data-kind="pc" href="/authorize/go?${esc(query)}">${esc(m.pcButton)}</a><br><span class="muted">${esc(m.pcHint)}</span></p>
<p><a class="button secondary" data-kind="mobile" href="/authorize/go?${esc(query)}&amp;mobile=1">${esc(m.mobileButton)}</a><br><span class="muted">${esc(m.mobileHint)}</span></p>`;
}

/**
 * Explains what will happen and which accounts are asked for. PC (scan) vs mobile is a separate
 * choice from the account type: auth_type 3 means "both kinds", not "PC".
 */
export function authorizePage(i: AuthorizePageInput): string {
  const m = messages(i.lang);
  const langQ = i.lang === 'en' ? '&lang=en' : '';
  let choice: string;
  if (i.link) {
    const p = i.link.params;
    const sets = p.categoryList?.length
      ? p.categoryList.map((id) => `<span class="tag">${esc(permissionName(id, i.lang))}</span>`).join('')
      : `<span class="muted">${esc(m.allSets)}</span>`;
    choice = `<div class="panel"><div class="label">${esc(m.accountsAsked)}</div><p id="asked"><strong>${esc(askedFor(i.lang, p))}</strong></p>
<div class="label">${esc(m.requestedSets)}</div><p>${sets}</p>${buttons(i.lang, `link=${encodeURIComponent(i.link.token)}${langQ}`)}</div>`;
  } else {
    choice = `<h2>${esc(m.chooseType)}</h2>${[3, 1, 2]
      .map((t) => `<div class="panel" data-auth-type="${t}"><p><strong>${esc(askedFor(i.lang, { authType: t }))}</strong></p>${buttons(i.lang, `auth_type=${t}${langQ}`)}</div>`)
      .join('')}`;
  }
  return shell(
    i.lang,
    m.authorizeTitle,
    `<h1>${esc(m.authorizeTitle)}</h1><p>${esc(m.authorizeIntro(i.platformName))}</p>
<div class="panel"><div class="label">${esc(m.stepsTitle)}</div><ol class="steps">${m.steps.map((s) => `<li>${esc(s)}</li>`).join('')}</ol></div>${choice}`,
    { narrow: true },
  );
}
