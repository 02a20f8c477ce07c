import { en } from './en.js';
import { zhCN, type Messages } from './zh-CN.js';
import type { Lang } from './permissions.js';

export type { Messages } from './zh-CN.js';
export { permissionName, knownPermissionIds, type Lang } from './permissions.js';

/** A language the pages are written in: what a `?lang=` may name. */
export function isLang(v: unknown): v is Lang {
  return v === 'en' || v === 'zh-CN';
}

/**
 * Chinese first: English only when the browser ranks some English above every Chinese entry (or asks
 * for English and no Chinese). `?lang=en|zh-CN` overrides, for links and tests.
 */
export function pickLang(acceptLanguage: string | undefined, override?: unknown): Lang {
  if (isLang(override)) return override;
  if (!acceptLanguage) return 'zh-CN';
  let best: { lang: Lang; q: number } | undefined;
  for (const part of acceptLanguage.split(',')) {
    const [tag = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.find((p) => p.trim().startsWith('q='));
    const q = qParam ? Number(qParam.trim().slice(2)) : 1;
    if (!(q > 0)) continue;
    const lang: Lang | undefined = tag.startsWith('zh') ? 'zh-CN' : tag.startsWith('en') ? 'en' : undefined;
    if (lang && (!best || q > best.q)) best = { lang, q };
  }
  return best?.lang ?? 'zh-CN';
}

export function messages(lang: Lang): Messages {
  return lang === 'en' ? en : zhCN;
}

/** Relative times in the page's language ("3 分钟前" / "3 min ago"). */
export function ago(m: Messages, ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 90) return m.agoSeconds(s);
  if (s < 5400) return m.agoMinutes(Math.round(s / 60));
  return m.agoHours((s / 3600).toFixed(1));
}

/**
 * An instant as the server's local wall-clock time with its UTC offset ("2026-12-04 04:13:37 UTC+08:00"): the
 * absolute time behind a relative one, for a title attribute.
 */
export function localStamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} UTC${sign}${p(Math.floor(abs / 60))}:${p(abs % 60)}`;
}

export function inTime(m: Messages, ms: number, now: number): string {
  const s = Math.round((ms - now) / 1000);
  if (s <= 0) return m.expired;
  return s < 5400 ? m.inMinutes(Math.round(s / 60)) : m.inHours((s / 3600).toFixed(1));
}
