const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A minimal, readable page shell for the few server-rendered pages. */
export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · wxopen</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:960px;margin:40px auto;padding:0 16px;color:#1f2328}
h1{font-size:24px}code{background:#f3f4f6;padding:1px 5px;border-radius:4px}
.button{display:inline-block;margin:4px 8px 4px 0;padding:8px 14px;border-radius:6px;background:#07c160;color:#fff;text-decoration:none}
table{border-collapse:collapse;width:100%;font-size:14px}td,th{border-bottom:1px solid #e5e7eb;padding:6px 8px;text-align:left}
h2{font-size:18px;margin-top:28px}.muted{color:#6b7280}.ok{color:#067d3f}.warn{color:#b45309}.bad{color:#c62828;font-weight:600}
.alert{background:#fdecea;border:1px solid #f5c2c0;color:#8a1c1c;padding:10px 12px;border-radius:6px}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{flex:1 1 200px;border:1px solid #e5e7eb;border-radius:8px;padding:10px 12px}
.label{font-size:12px;color:#6b7280;text-transform:uppercase;letter-spacing:.04em}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}
