/**
 * Readers for the deployment files (Dockerfile, compose.yaml, nginx.conf, .dockerignore), so the
 * tests can check what a container engine would run on a machine that has none.
 */

export interface Instruction {
  keyword: string;
  args: string;
}

export interface Stage {
  base: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile → stages of instructions (line continuations joined, comments and parser directives dropped). */
export function parseDockerfile(text: string): { args: Instruction[]; stages: Stage[] } {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // a comment inside a continued instruction
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push(`${pending}${line}`.trim());
    pending = '';
  }
  if (pending !== '') throw new Error(`Dockerfile ends inside a continued line: ${pending}`);
  const args: Instruction[] = [];
  const stages: Stage[] = [];
  for (const l of logical) {
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`not a Dockerfile instruction: ${l}`);
    const instruction = { keyword: m[1]!.toUpperCase(), args: m[2]! };
    if (instruction.keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!from) throw new Error(`bad FROM: ${l}`);
      stages.push({ base: from[1]!, name: from[2], instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`${instruction.keyword} before the first FROM`);
      args.push(instruction);
    } else stages.at(-1)!.instructions.push(instruction);
  }
  return { args, stages };
}

/** `ENV A=1 B=2` (the key=value form) → entries. */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of stage.instructions.filter((x) => x.keyword === 'ENV')) {
    for (const m of i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  }
  return env;
}

/** `HEALTHCHECK [--opt=v…] CMD ["exec", "form"]` → its options and argv. */
export function healthcheckOf(stage: Stage): { options: Record<string, string>; argv: string[] } | undefined {
  const i = stage.instructions.find((x) => x.keyword === 'HEALTHCHECK');
  if (!i) return undefined;
  const m = /^((?:--[a-z-]+=\S+\s+)*)CMD\s+(\[.*\])$/.exec(i.args);
  if (!m) throw new Error(`HEALTHCHECK must use CMD in exec form (JSON array): ${i.args}`);
  const options = Object.fromEntries([...m[1]!.matchAll(/--([a-z-]+)=(\S+)/g)].map((o) => [o[1]!, o[2]!]));
  return { options, argv: JSON.parse(m[2]!) as string[] };
}

/** `.dockerignore` patterns (the simple forms it uses: names, `*` within a segment). */
export function dockerIgnored(patterns: string, path: string): boolean {
  const rules = patterns
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const segments = path.replace(/^\.\//, '').replace(/\/$/, '').split('/');
  return rules.some((rule) => {
    const re = new RegExp(`^${rule.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
    // A rule names a path from the context root; docker then excludes everything under it.
    return segments.some((_, n) => re.test(segments.slice(0, n + 1).join('/')));
  });
}

/**
 * Compose's variable interpolation (`${VAR}`, `${VAR:-default}`, `${VAR:?error}`) against `vars`:
 * what `docker compose config` does with the `.env` file. A missing required variable throws.
 */
export function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (_, name: string, op: string | undefined, arg: string | undefined) => {
    const v = vars[name];
    const empty = v === undefined || (op?.startsWith(':') === true && v === '');
    if (!empty) return v!;
    if (op?.endsWith('?')) throw new Error(`required variable ${name} is missing: ${arg}`);
    return op?.endsWith('-') ? (arg ?? '') : '';
  });
}

export interface NginxDirective {
  name: string;
  args: string[];
  block?: NginxDirective[];
}

/**
 * nginx.conf → directives, structurally: every simple directive ends with `;`, every block's braces
 * balance, quotes close. (Not `nginx -t`, which also needs the upstream hosts to resolve.)
 */
export function parseNginx(text: string): NginxDirective[] {
  const tokens: string[] = [];
  const re = /\s+|#[^\n]*|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([{};])|([^\s{};"'#]+)/gy;
  for (let pos = 0; pos < text.length; pos = re.lastIndex) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new Error(`nginx.conf: cannot read from offset ${pos} (an unclosed quote?)`);
    if (m[1] !== undefined || m[2] !== undefined) tokens.push(m[1] ?? m[2]!);
    else if (m[3] !== undefined || m[4] !== undefined) tokens.push(m[3] ?? m[4]!);
  }
  let at = 0;
  const block = (depth: number): NginxDirective[] => {
    const out: NginxDirective[] = [];
    let words: string[] = [];
    while (at < tokens.length) {
      const t = tokens[at++]!;
      if (t === ';') {
        if (words.length === 0) throw new Error('nginx.conf: empty directive');
        out.push({ name: words[0]!, args: words.slice(1) });
        words = [];
      } else if (t === '{') {
        if (words.length === 0) throw new Error('nginx.conf: block without a name');
        out.push({ name: words[0]!, args: words.slice(1), block: block(depth + 1) });
        words = [];
      } else if (t === '}') {
        if (depth === 0) throw new Error('nginx.conf: unbalanced }');
        if (words.length > 0) throw new Error(`nginx.conf: directive ${words[0]} lacks its ;`);
        return out;
      } else words.push(t);
    }
    if (depth > 0) throw new Error('nginx.conf: unclosed {');
    if (words.length > 0) throw new Error(`nginx.conf: directive ${words[0]} lacks its ;`);
    return out;
  };
  return block(0);
}

/** Every directive named `name`, at any depth. */
export function findAll(directives: NginxDirective[], name: string): NginxDirective[] {
  return directives.flatMap((d) => [...(d.name === name ? [d] : []), ...findAll(d.block ?? [], name)]);
}
