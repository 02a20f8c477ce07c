import type { Lang } from '../../i18n/index.js';
import { esc } from '../../util/html.js';

export { esc };

/**
 * Mobile first: merchants open these pages inside WeChat on a phone. Tables turn into stacked rows
 * under 640 px and long ids wrap, so nothing scrolls sideways at 375 px.
 */
export const BASE_CSS = `*{box-sizing:border-box}body{font:15px/1.6 -apple-system,"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC",system-ui,sans-serif;margin:0;color:#1f2329;background:#f5f6f7;overflow-wrap:anywhere}
main{max-width:980px;margin:0 auto;padding:20px 16px 40px}.narrow{max-width:600px}
h1{font-size:22px;margin:8px 0 12px}h2{font-size:17px;margin:24px 0 10px}
code{background:#eef0f3;padding:1px 5px;border-radius:4px;font-size:13px;word-break:break-all}
a{color:#0b6bcb}.button,button{display:inline-block;border:0;border-radius:8px;padding:10px 16px;margin:4px 8px 4px 0;background:#07c160;color:#fff;text-decoration:none;font-size:15px;cursor:pointer}
.button.secondary,button.secondary{background:#fff;color:#1f2329;border:1px solid #d0d3d9}button.danger{background:#fa5151}
.panel{background:#fff;border-radius:12px;padding:16px 18px;margin:12px 0;box-shadow:0 1px 4px rgba(0,0,0,.05)}
.muted{color:#6b7280}.ok{color:#067d3f}.warn{color:#b45309}.bad{color:#c62828;font-weight:600}
.alert{background:#fdecea;border:1px solid #f5c2c0;color:#8a1c1c;padding:10px 12px;border-radius:8px;margin:8px 0}
.notice{background:#ecfdf3;border:1px solid #b7ebc9;color:#0b5e2f;padding:10px 12px;border-radius:8px;margin:8px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:12px}.card{background:#fff;border-radius:10px;padding:12px 14px;box-shadow:0 1px 4px rgba(0,0,0,.05)}
.label{font-size:12px;color:#6b7280;letter-spacing:.02em}.help{font-size:13px;color:#8a1c1c;margin-top:6px}
table{border-collapse:collapse;width:100%;font-size:14px;background:#fff}td,th{border-bottom:1px solid #e5e7eb;padding:8px;text-align:left;vertical-align:top}
.tag{display:inline-block;background:#eef6ff;color:#0b4f9c;border-radius:999px;padding:1px 9px;margin:2px 4px 2px 0;font-size:12px}.tag.missing{background:#fff1e6;color:#9a3b00}
.avatar{width:56px;height:56px;border-radius:10px;background:#e5e7eb;object-fit:cover;flex:none}.account{display:flex;gap:12px;align-items:center}
ol.steps{padding-left:20px}ol.steps li{margin:4px 0}
form.inline{display:flex;flex-wrap:wrap;gap:8px;align-items:center}input,select{font:inherit;padding:8px 10px;border:1px solid #d0d3d9;border-radius:8px;max-width:100%}
nav{display:flex;flex-wrap:wrap;gap:4px 14px;align-items:center;padding:10px 16px;background:#fff;border-bottom:1px solid #e5e7eb}nav .brand{font-weight:700;margin-right:8px}
@media (max-width:640px){table,thead,tbody,tr,td{display:block;width:100%}tr:first-child:has(th){display:none}tr{border-bottom:1px solid #e5e7eb;padding:6px 0}td{border:0;padding:2px 8px}}`;

export function shell(lang: Lang, title: string, body: string, options: { nav?: string; head?: string; narrow?: boolean } = {}): string {
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><link rel="icon" href="/favicon.ico"><style>${BASE_CSS}</style>${options.head ?? ''}</head><body>${options.nav ?? ''}<main${options.narrow ? ' class="narrow"' : ''}>${body}</main></body></html>`;
}

/** A browser navigating (its Accept names HTML): an unknown URL gets a page, not the JSON an API client gets. */
export function acceptsHtml(accept: string | undefined): boolean {
  return accept !== undefined && accept.toLowerCase().includes('text/html');
}

/**
 * A browser asking for a page: both listeners answer it an unknown address with one, whatever the method
 * (a form posted to a wrong address is still read by a person), so HEAD carries what GET would.
 */
export function wantsPage(req: { headers: { accept?: string } }): boolean {
  return acceptsHtml(req.headers.accept);
}

/** Browsers get HTML; a client that asks for JSON (and not HTML) gets JSON. */
export function wantsJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const a = accept.toLowerCase();
  return a.includes('application/json') && !a.includes('text/html');
}
