#!/usr/bin/env node
// `npm run test:mutation [-- group…]`: runs Stryker once per mutation group (scripts/mutation-groups.mjs), each
// against the tests that judge it, then merges the groups' reports into Stryker's default paths
// (reports/mutation/mutation.json and .html) and prints the per-module scores.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { MUTATION_GROUPS } from './mutation-groups.mjs';

// --report-only: merge the group reports already present and print the scores, without running Stryker.
const reportOnly = process.argv.includes('--report-only');
const asked = process.argv.slice(2).filter((a) => a !== '--report-only');
for (const name of asked) {
  if (!(name in MUTATION_GROUPS)) {
    console.error(`mutation: unknown group ${name} (expected ${Object.keys(MUTATION_GROUPS).join(', ')})`);
    process.exit(2);
  }
}
// A group whose rooms do not exist yet (messages, fleet) is skipped until they land.
const roomExists = (glob) => existsSync(glob.replace(/\/\*\*.*$/, ''));
const names = reportOnly ? [] : (asked.length > 0 ? asked : Object.keys(MUTATION_GROUPS)).filter((n) => MUTATION_GROUPS[n].mutate.some(roomExists));

const timings = [];
for (const name of names) {
  const started = Date.now();
  console.log(`\n=== mutation group ${name}: ${MUTATION_GROUPS[name].mutate.join(' ')} ===`);
  const r = spawnSync('npx', ['stryker', 'run'], { stdio: 'inherit', env: { ...process.env, WXOPEN_MUTATION_GROUP: name } });
  timings.push([name, (Date.now() - started) / 1000]);
  if (r.status !== 0) {
    console.error(`mutation: stryker failed for group ${name} (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

// Merge every group report present (groups run earlier stay in the merged report when only some are rerun).
const reports = Object.keys(MUTATION_GROUPS)
  .map((n) => `reports/mutation/groups/${n}.json`)
  .filter((p) => existsSync(p))
  .map((p) => JSON.parse(readFileSync(p, 'utf8')));
if (reports.length === 0) {
  console.error('mutation: no group report found');
  process.exit(1);
}
const merged = { ...reports[0], files: {}, testFiles: {} };
for (const r of reports) {
  Object.assign(merged.files, r.files);
  Object.assign(merged.testFiles, r.testFiles ?? {});
}
mkdirSync('reports/mutation', { recursive: true });
writeFileSync('reports/mutation/mutation.json', JSON.stringify(merged));
writeFileSync('reports/mutation/mutation.html', reportHtml(merged));

for (const [name, s] of timings) console.log(`group ${name.padEnd(12)} ${Math.round(s)} s`);
const summary = spawnSync(process.execPath, ['scripts/mutation-summary.mjs', 'reports/mutation/mutation.json'], { stdio: 'inherit' });
console.log('report: reports/mutation/mutation.html');
process.exit(summary.status ?? 1);

/** The same page Stryker's html reporter writes: mutation-testing-elements with the report inlined. */
function reportHtml(report) {
  const require = createRequire(require_base());
  const script = readFileSync(require.resolve('mutation-testing-elements/dist/mutation-test-elements.js'), 'utf8');
  const json = JSON.stringify(report).replace(/</g, '<"+"');
  return `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>wxopen mutation report</title><script>${script}</script></head>
<body>
<mutation-test-report-app titlePostfix="wxopen"></mutation-test-report-app>
<script>
  const app = document.querySelector('mutation-test-report-app');
  app.report = ${json};
  const theme = () => { document.body.style.backgroundColor = app.themeBackgroundColor; };
  app.addEventListener('theme-changed', theme);
  theme();
</script>
</body>
</html>
`;
}

// mutation-testing-elements is a dependency of @stryker-mutator/core, resolved from there.
function require_base() {
  return createRequire(import.meta.url).resolve('@stryker-mutator/core/package.json');
}
