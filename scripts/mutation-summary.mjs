#!/usr/bin/env node
// Prints the mutation score per module (top-level room under src/), the files under 80%, and the overall score,
// from Stryker's JSON report. Usage: node scripts/mutation-summary.mjs [reports/mutation/mutation.json]
import { readFileSync } from 'node:fs';

const FILE_THRESHOLD = 80;
const path = process.argv[2] ?? 'reports/mutation/mutation.json';
let report;
try {
  report = JSON.parse(readFileSync(path, 'utf8'));
} catch (e) {
  console.error(`mutation-summary: cannot read ${path}: ${e.message}`);
  process.exit(1);
}

// Stryker's definition: detected = Killed + Timeout; undetected = Survived + NoCoverage; CompileError,
// RuntimeError and Ignored mutants are not counted.
const empty = () => ({ killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 0, errors: 0 });
const add = (t, m) => {
  switch (m.status) {
    case 'Killed': t.killed++; break;
    case 'Timeout': t.timeout++; break;
    case 'Survived': t.survived++; break;
    case 'NoCoverage': t.noCoverage++; break;
    case 'Ignored': t.ignored++; break;
    default: t.errors++;
  }
};
const score = (t) => {
  const valid = t.killed + t.timeout + t.survived + t.noCoverage;
  return valid === 0 ? NaN : (100 * (t.killed + t.timeout)) / valid;
};

const modules = new Map();
const files = [];
const total = empty();
for (const [name, file] of Object.entries(report.files)) {
  const rel = name.replace(/\\/g, '/').replace(/^.*?(src\/)/, '$1');
  const mod = rel.split('/').length > 2 ? rel.split('/').slice(0, 2).join('/') : rel;
  if (!modules.has(mod)) modules.set(mod, empty());
  const f = empty();
  for (const m of file.mutants) {
    add(f, m);
    add(modules.get(mod), m);
    add(total, m);
  }
  files.push([rel, f]);
}

const pct = (n) => (Number.isNaN(n) ? '   n/a' : `${n.toFixed(1).padStart(5)}%`);
const row = (label, t) =>
  `${label.padEnd(36)} ${pct(score(t))}  ${String(t.killed + t.timeout).padStart(6)} ${String(t.survived).padStart(8)} ${String(t.noCoverage).padStart(8)} ${String(t.ignored).padStart(7)}`;

console.log('\nMutation score per module');
console.log(`${'module'.padEnd(36)}  score  killed survived no-cover ignored`);
for (const [mod, t] of [...modules].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(row(mod, t));
  for (const [rel, f] of files.filter(([r]) => r.startsWith(`${mod}/`)).sort(([a], [b]) => a.localeCompare(b))) {
    if (score(f) < FILE_THRESHOLD) console.log(row(`  ${rel.slice(mod.length + 1)}`, f));
  }
}
console.log(row('all', total));
const below = [...modules].filter(([, t]) => score(t) < FILE_THRESHOLD).map(([m]) => m);
console.log(below.length === 0 ? `\nevery module >= ${FILE_THRESHOLD}%` : `\nbelow ${FILE_THRESHOLD}%: ${below.join(', ')}`);
