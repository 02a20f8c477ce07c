import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { createProgram } from '../../src/cli/program.js';

// README.zh-CN.md is kept in step with README.md: whatever the English README names that a reader
// types or looks for — a CLI command, a variable, an HTTP route or WeChat API path, a shell command —
// the Chinese one names too. A section added in English fails here with the exact list to translate.

const read = (name: string) => readFileSync(new URL(`../../${name}`, import.meta.url), 'utf8');
const en = read('README.md');
const zh = read('README.zh-CN.md');

/** Every command path the CLI has (`serve`, `token component`, …), from the program itself. */
function commandPaths(cmd: Command, prefix: string[] = []): string[] {
  return cmd.commands.flatMap((c) => {
    const path = [...prefix, c.name()];
    return [path.join(' '), ...commandPaths(c, path)];
  });
}

const spans = (text: string) => [...text.replace(/```[\s\S]*?```/g, '').matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
const codeBlocks = (text: string, lang: RegExp) =>
  [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)].filter((m) => lang.test(m[1]!)).map((m) => m[2]!);

/** `wxopen <command path>` named in the text (prose, tables or code). */
function cliCommands(text: string): Set<string> {
  const paths = commandPaths(createProgram()).sort((a, b) => b.length - a.length);
  const found = new Set<string>();
  for (const path of paths) if (new RegExp(`wxopen ${path.replace(/[-]/g, '\\-')}(?![\\w-])`).test(text)) found.add(`wxopen ${path}`);
  return found;
}

/** Configuration and test variables: every `WXOPEN_*`, and the plain ones wxopen reads. */
function variables(text: string): Set<string> {
  return new Set([...text.matchAll(/\b(WXOPEN_[A-Z0-9_]*[A-Z0-9]|PORT|HOST|LOG_LEVEL|NODE_ENV)\b/g)].map((m) => m[1]!));
}

const METHOD = '(?:GET|POST|PUT|DELETE|PATCH)';
/** HTTP routes and WeChat API paths in inline code: `GET /authorize`, `/api/v1/keys`, `POST|GET /reconcile`. */
function routes(text: string): Set<string> {
  const out = new Set<string>();
  const re = new RegExp(`^(?:${METHOD}(?:[|/]${METHOD})* )?(/[A-Za-z0-9_\\-.:$/*]*)`);
  for (const span of spans(text)) {
    const m = re.exec(span);
    if (m && m[1]!.length > 1) out.add(m[1]!.replace(/\/$/, ''));
  }
  return out;
}

/** Shell commands of ```sh blocks, without their trailing comments (those are translated). */
function shellCommands(text: string): Set<string> {
  const out = new Set<string>();
  for (const block of codeBlocks(text, /^(sh|bash|shell)$/)) {
    for (const line of block.split('\n')) {
      const command = line.replace(/\s+#\s.*$/, '').trim();
      if (command !== '' && !command.startsWith('#')) out.add(command.replace(/\s+/g, ' '));
    }
  }
  return out;
}

function missing(extract: (t: string) => Set<string>, inText: (item: string) => boolean = (item) => zh.includes(item)): string[] {
  return [...extract(en)].filter((item) => !inText(item)).sort();
}

describe('README.zh-CN.md keeps in step with README.md', () => {
  it('each links to the other at the top', () => {
    expect(en.split('\n').slice(0, 3).join('\n')).toContain('[中文文档](README.zh-CN.md)');
    expect(zh.split('\n').slice(0, 3).join('\n')).toContain('[English](README.md)');
  });

  it('names every CLI command, variable, route and shell command the English README names', () => {
    const zhShell = shellCommands(zh);
    const gaps = {
      'CLI commands': missing(cliCommands),
      variables: missing(variables, (v) => new RegExp(`\\b${v}\\b`).test(zh)),
      'HTTP routes and WeChat API paths': missing(routes),
      'shell commands (```sh blocks, comments aside)': missing(shellCommands, (c) => zhShell.has(c)),
    };
    const report = Object.entries(gaps)
      .filter(([, items]) => items.length > 0)
      .map(([what, items]) => `  ${what}:\n${items.map((i) => `    ${i}`).join('\n')}`)
      .join('\n');
    expect(report, `README.zh-CN.md lacks what README.md names (translate the sections that hold them):\n${report}`).toBe('');
  });

  it('the extractors find what they look for (so an empty gap list means something)', () => {
    expect([...cliCommands(en)]).toEqual(expect.arrayContaining(['wxopen serve', 'wxopen token component', 'wxopen keys create']));
    expect(cliCommands('run `wxopen servex` or wxopen token')).toEqual(new Set(['wxopen token']));
    expect(variables(en).has('WXOPEN_TRUST_PROXY')).toBe(true);
    expect(routes('`GET /authorize[?link=…]`, `POST|GET /reconcile`, `/api/v1/keys`, `curl -s`')).toEqual(new Set(['/authorize', '/reconcile', '/api/v1/keys']));
    expect(shellCommands('```sh\nnpm start   # runs it\ncurl -s localhost:3000/healthz\n```\n')).toEqual(new Set(['npm start', 'curl -s localhost:3000/healthz']));
    expect(routes(en).size).toBeGreaterThan(30);
    expect(shellCommands(en).size).toBeGreaterThan(10);
  });

  it('keeps marked places for the sections the other parts of issue 16 add', () => {
    // A marker until the section is translated, then its heading.
    for (const topic of ['嵌入框架', '小程序批量发布', 'wxopen doctor']) expect(zh, topic).toMatch(new RegExp(`<!-- zh-sync: ${topic}[^>]*-->|^#+ .*${topic}`, 'm'));
  });
});
