/** What a browser submits from the sandbox's authorization page: its action, hidden fields, accounts and permission sets. */
export function formOf(html: string): { action: string; fields: [string, string][]; accounts: string[]; funcs: string[] } {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1] ?? '';
  const fields: [string, string][] = [];
  // Decoded as a browser would: the sandbox writes `&` in a redirect_uri as &#38;.
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields.push([m[1]!, m[2]!.replaceAll('&amp;', '&').replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))]);
  const accounts = [...html.matchAll(/name="authorizer_appid" value="([^"]+)"/g)].map((m) => m[1]!);
  const funcs = [...html.matchAll(/name="func" value="(\d+)"/g)].map((m) => m[1]!);
  return { action, fields, accounts, funcs };
}
